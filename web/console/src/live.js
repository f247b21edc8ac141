// Server-sent events from GET /api/v1/events, read with fetch (a browser's EventSource cannot
// send the bearer token). `onEvent(name, data)` is called for each event ("hello", "change");
// the returned promise settles when the stream ends (the server stopped, the network broke, a
// refusal such as 503 when too many streams are open): the caller then polls and tries again
// later.

// Splits the text of a stream into events: blocks separated by a blank line, `event:` and
// `data:` fields (several data lines are joined by "\n"); comment lines (":") are ignored.
export function parseEvents(buffer, onEvent) {
  let rest = buffer;
  for (;;) {
    const m = /\r?\n\r?\n/.exec(rest);
    if (!m) return rest;
    const block = rest.slice(0, m.index);
    rest = rest.slice(m.index + m[0].length);
    let name = "message";
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length) continue;
    let parsed = data.join("\n");
    try {
      parsed = JSON.parse(parsed);
    } catch (_) {}
    onEvent(name, parsed);
  }
}

// Opens the stream through `api` (the console's fetch with the token) and reads it until it
// ends. Resolves with a reason (a string) when it ends.
export async function followEvents(api, onEvent, signal) {
  const res = await api("/api/v1/events", { signal, headers: { Accept: "text/event-stream" } });
  if (!res.ok || !res.body) {
    let why = `${res.status}`;
    try {
      why += ": " + ((await res.json()).error || "");
    } catch (_) {}
    return why;
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return "the server closed the stream";
    buffer = parseEvents(buffer + decoder.decode(value, { stream: true }), onEvent);
  }
}
