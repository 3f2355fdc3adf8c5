import { Cluster } from "ioredis";
import type { BusMessage, EventBus, Unsubscribe } from "../../core/ports/event-bus";
import {
  CommandGate,
  closeClient,
  createCommandClient,
  createSubscriberClient,
  type RedisAdapterOptions,
  type RedisClient,
  topologyOf,
  unavailable,
  withTimeout,
} from "./connection";
import { PUBLISH_IF_CACHED_LUA, PUBLISH_LUA, SHARDED_PUBLISH_LUA } from "./scripts/publish";

interface ScriptedRedis {
  publishEvent(topic: string, payload: string, maxLen: number): Promise<string>;
}

interface CacheScriptedRedis {
  publishEventIfCached(
    topic: string,
    entryKey: string,
    payload: string,
    maxLen: number,
    version: number,
  ): Promise<string | null>;
}

type Handler = (msg: BusMessage) => void;

interface Topic {
  handlers: Set<Handler>;
  /** The SUBSCRIBE confirmation every subscriber of this topic waits for. */
  subscribed: Promise<unknown>;
}

const STREAM_ID = /^\d+-\d+$/;

/**
 * Redis Stream per topic (bounded replay log, `MAXLEN ~`) plus pub/sub on a channel of the same
 * name (live fan-out to every API instance). Publishing goes through the command connection;
 * subscriptions use a second connection, opened on the first `subscribe`, because a RESP2
 * subscriber connection cannot run other commands and a slow handler must not delay commands.
 *
 * On Redis Cluster the channel is a shard channel (SPUBLISH / SSUBSCRIBE): the stream key and the
 * channel share a slot, so the script stays single-slot, and a message travels only within the
 * topic's shard instead of being broadcast over the cluster bus to every node.
 */
export class RedisEventBus implements EventBus {
  readonly kind = "redis";
  readonly client: RedisClient;
  private readonly scripted: ScriptedRedis;
  private readonly opts: RedisAdapterOptions;
  private readonly sharded: boolean;
  private subscriber: RedisClient | null = null;
  private readonly topics = new Map<string, Topic>();
  private readonly gate: CommandGate;
  private closed = false;

  /**
   * Publishes once a cache entry holds a version (EventBus.publishAfter): present when the cache
   * store's connection was given and the topology keeps the entry and the topic on one server.
   */
  readonly publishAfter?: (
    topic: string,
    payload: string,
    entryKey: string,
    version: number,
  ) => Promise<string | null>;

  /**
   * `cacheClient`: the cache store's command connection. Scripts sent on it run after the cache
   * writes sent before them on it, which `publishAfter` relies on (not used on Cluster).
   */
  constructor(opts: RedisAdapterOptions, cacheClient?: RedisClient) {
    this.opts = opts;
    this.sharded = topologyOf(opts).mode === "cluster";
    const client = createCommandClient(opts);
    client.defineCommand("publishEvent", {
      lua: this.sharded ? SHARDED_PUBLISH_LUA : PUBLISH_LUA,
      numberOfKeys: 1,
    });
    this.client = client;
    this.scripted = client as unknown as ScriptedRedis;
    this.gate = new CommandGate(client, opts.timeoutMs);
    if (cacheClient && !this.sharded && !(cacheClient instanceof Cluster)) {
      cacheClient.defineCommand("publishEventIfCached", {
        lua: PUBLISH_IF_CACHED_LUA,
        numberOfKeys: 2,
      });
      const scripted = cacheClient as unknown as CacheScriptedRedis;
      const gate = new CommandGate(cacheClient, opts.timeoutMs);
      this.publishAfter = (topic, payload, entryKey, version) =>
        gate.run(() =>
          scripted.publishEventIfCached(topic, entryKey, payload, opts.streamMaxLen, version),
        );
    }
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    return this.gate.run(op);
  }

  publish(topic: string, payload: string): Promise<string> {
    return this.run(() => this.scripted.publishEvent(topic, payload, this.opts.streamMaxLen));
  }

  /**
   * Resolves once Redis confirmed the subscription. If it cannot within `timeoutMs`, rejects with
   * StoreUnavailableError and leaves nothing registered, so a caller may simply retry.
   */
  async subscribe(topic: string, handler: Handler): Promise<Unsubscribe> {
    if (this.closed) throw unavailable(new Error("event bus closed"));
    const sub = this.subscriberClient();
    let entry = this.topics.get(topic);
    if (!entry) {
      entry = {
        handlers: new Set(),
        subscribed: sub instanceof Cluster ? sub.ssubscribe(topic) : sub.subscribe(topic),
      };
      // Rejections are observed by each waiting subscriber below, not here.
      entry.subscribed.catch(() => {});
      this.topics.set(topic, entry);
    }
    // A distinct wrapper per call, so the same function subscribed twice is two subscriptions.
    const registered: Handler = (msg) => handler(msg);
    entry.handlers.add(registered);
    const unsubscribe = () => this.remove(topic, registered);
    try {
      await withTimeout(entry.subscribed, this.opts.timeoutMs, `SUBSCRIBE ${topic}`);
    } catch (err) {
      // Not awaited: the handler is removed synchronously; the UNSUBSCRIBE may wait on the same outage.
      void unsubscribe();
      throw unavailable(err);
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      await unsubscribe();
    };
  }

  async since(topic: string, afterId: string, limit: number): Promise<BusMessage[]> {
    if (!STREAM_ID.test(afterId) || !(limit > 0)) return [];
    const entries = await this.run(() =>
      this.client.xrange(topic, `(${afterId}`, "+", "COUNT", Math.ceil(limit)),
    );
    return entries.map(([id, fields]) => ({ id, payload: fieldValue(fields, "payload") }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.topics.clear();
    const sub = this.subscriber;
    this.subscriber = null;
    await Promise.all([
      closeClient(this.client, this.opts.timeoutMs),
      sub ? closeClient(sub, this.opts.timeoutMs) : undefined,
    ]);
  }

  private subscriberClient(): RedisClient {
    if (this.subscriber) return this.subscriber;
    const sub = createSubscriberClient(this.opts);
    sub.on(this.sharded ? "smessage" : "message", (channel: string, raw: string) =>
      this.deliver(channel, raw),
    );
    this.subscriber = sub;
    return sub;
  }

  private deliver(channel: string, raw: string): void {
    const entry = this.topics.get(channel);
    if (!entry) return;
    let msg: BusMessage;
    try {
      const parsed = JSON.parse(raw) as Partial<BusMessage>;
      if (typeof parsed.id !== "string" || typeof parsed.payload !== "string") return;
      msg = { id: parsed.id, payload: parsed.payload };
    } catch {
      // Not ours (someone else publishing on the channel): ignore rather than crash the bus.
      return;
    }
    for (const handler of entry.handlers) {
      try {
        handler(msg);
      } catch (err) {
        // One failing subscriber must not starve the others.
        this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  private async remove(topic: string, handler: Handler): Promise<void> {
    const entry = this.topics.get(topic);
    if (!entry?.handlers.delete(handler) || entry.handlers.size > 0) return;
    this.topics.delete(topic);
    const sub = this.subscriber;
    if (!sub) return;
    try {
      await withTimeout(
        sub instanceof Cluster ? sub.sunsubscribe(topic) : sub.unsubscribe(topic),
        this.opts.timeoutMs,
        `UNSUBSCRIBE ${topic}`,
      );
    } catch {
      // The handler is gone locally, so nothing is delivered; the server side is cleaned up
      // when the queued UNSUBSCRIBE goes through or the connection closes.
    }
  }
}

function fieldValue(fields: string[], name: string): string {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return "";
}
