import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestStack, type TestStack } from "../support/stack";
import { callJson, registerUser } from "../support/users";

/** SPEC §8: what a user writes into their profile is stored in one safe, canonical form. */
let stack: TestStack;
beforeAll(async () => {
  stack = await createTestStack();
});
afterAll(() => stack.close());

const patch = (token: string, body: unknown) =>
  callJson(stack, "PATCH", "/api/v1/users/me", { token, body });

describe("avatarUrl", () => {
  test("stored URL-encoded, as the URL parser serialises it", async () => {
    const u = await registerUser(stack);
    const r = await patch(u.token, { avatarUrl: 'https://Img.Example/a b"<x>.png?q=1 2' });
    expect(r.status).toBe(200);
    expect(r.body.data.avatarUrl).toBe("https://img.example/a%20b%22%3Cx%3E.png?q=1%202");
    const pub = await callJson(stack, "GET", `/api/v1/users/${u.user.id}`);
    expect(pub.body.data.avatarUrl).toBe("https://img.example/a%20b%22%3Cx%3E.png?q=1%202");
    expect((await patch(u.token, { avatarUrl: "" })).body.data.avatarUrl).toBe("");
  });

  test("anything but http(s) without credentials or control characters is 400", async () => {
    const u = await registerUser(stack);
    for (const avatarUrl of [
      "javascript:alert(1)",
      "data:image/png;base64,AAAA",
      "ftp://files.example/a.png",
      "https://user:secret@img.example/a.png",
      "https://img.example/a\nb.png",
      "https://img.example/\u202Egnp.exe",
      "//img.example/a.png",
    ]) {
      const r = await patch(u.token, { avatarUrl });
      expect([avatarUrl, r.status]).toEqual([avatarUrl, 400]);
    }
  });
});

describe("displayName and bio", () => {
  test("control and bidi characters are 400; a multi-line bio is fine", async () => {
    const u = await registerUser(stack);
    for (const body of [
      { displayName: "evil\u202Etxt.exe" },
      { displayName: "two\nlines" },
      { displayName: "nul\u0000byte" },
      { bio: "hidden \u2066isolate" },
      { bio: "bell\u0007" },
    ]) {
      expect((await patch(u.token, body)).status).toBe(400);
    }
    expect((await patch(u.token, { bio: "line one\nline two\tend" })).status).toBe(200);
  });
});
