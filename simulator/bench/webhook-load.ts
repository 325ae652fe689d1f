import { Pool } from "undici";

/**
 * The webhook benchmark's load generator, run as its own process so that the server under test
 * keeps its JavaScript thread to itself. Arguments: URL, events, concurrency, event id prefix.
 * Prints one JSON line: events/s, p50/p99 latency in ms, failures.
 */
async function main(): Promise<void> {
  const [url, eventsArg, concurrencyArg, prefix = "e"] = process.argv.slice(2);
  const events = Number(eventsArg);
  const concurrency = Number(concurrencyArg);
  const pool = new Pool(url!, { connections: concurrency, pipelining: 1 });
  const authorization = `Basic ${Buffer.from("u:p").toString("base64")}`;
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < events) {
        const index = next++;
        const sent = performance.now();
        const response = await pool.request({
          method: "POST",
          path: "/webhooks/genesys",
          headers: { authorization, "content-type": "application/json" },
          body: JSON.stringify({
            eventId: `${prefix}-${index}`,
            source: `wf-${index % 8}`,
            conversationId: `conv-${index}`,
            data: { wrapUpCode: "SALE" },
          }),
        });
        await response.body.dump();
        if (response.statusCode !== 202) failed += 1;
        latencies.push(performance.now() - sent);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  console.log(JSON.stringify({ eventsPerSecond: events / seconds, p50: at(0.5), p99: at(0.99), failed }));
}

void main();
