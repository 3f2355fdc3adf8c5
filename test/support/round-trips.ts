/**
 * Counts the Redis round trips of what runs while `recording`: each command sent through the
 * store's ioredis client is given the wave 1 + the highest wave answered before it was sent, so
 * commands sent together (one pipeline, or auto-pipelined in one tick) share a wave and a command
 * that needed an earlier answer starts the next. The request's round trips are its last wave.
 */
interface Sent {
  promise: Promise<unknown>;
  name: string;
  args: unknown[];
}
interface Client {
  sendCommand(command: Sent, ...rest: unknown[]): unknown;
}

export function roundTrips(store: unknown) {
  const client = (store as { client?: Client }).client;
  if (!client) throw new Error("round trips are counted on the Redis adapter only");
  const original = client.sendCommand.bind(client);
  let answered = 0;
  let recording = false;
  const waves: { wave: number; command: string }[] = [];
  client.sendCommand = (command: Sent, ...rest: unknown[]) => {
    if (recording) {
      const wave = answered + 1;
      waves.push({ wave, command: [command.name, ...command.args.slice(0, 1)].join(" ") });
      command.promise.then(
        () => {
          answered = Math.max(answered, wave);
        },
        () => undefined,
      );
    }
    return original(command, ...rest);
  };
  return {
    start() {
      answered = 0;
      waves.length = 0;
      recording = true;
    },
    stop() {
      recording = false;
      return { roundTrips: Math.max(0, ...waves.map((w) => w.wave)), commands: [...waves] };
    },
  };
}
