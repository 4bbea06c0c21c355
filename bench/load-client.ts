/**
 * An open-loop HTTP load generator, run as its own process so it does not share an event loop with
 * what it measures: sends `rate` requests per second for `seconds` (on schedule, whether or not
 * earlier ones have answered) and prints the latencies as JSON on its last line.
 */
import http from "node:http";

const [url, rateArg, secondsArg] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
const latencies: number[] = [];
let errors = 0;
let sent = 0;
const total = rate * seconds;
const started = performance.now();

function send(): void {
  const t0 = performance.now();
  const req = http.get(url!, { agent }, (res) => {
    res.resume();
    res.on("end", () => {
      latencies.push(performance.now() - t0);
      if ((res.statusCode ?? 0) >= 500) errors++;
      if (latencies.length + errors >= total) finish();
    });
  });
  req.on("error", () => {
    errors++;
    if (latencies.length + errors >= total) finish();
  });
}

function tick(): void {
  const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
  while (sent < due) {
    sent++;
    send();
  }
  if (sent < total) setTimeout(tick, 1);
}

let finished = false;
function finish(): void {
  if (finished) return;
  finished = true;
  process.stdout.write(`${JSON.stringify({ latencies, errors, elapsedMs: performance.now() - started })}\n`);
  agent.destroy();
  process.exit(0);
}

tick();
