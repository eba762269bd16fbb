"""Driving an HTTP endpoint with wrk (Debian's `wrk`), counting replies by status."""

import subprocess
import tempfile
from dataclasses import asdict, dataclass

SCRIPT = """
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
function init(args)
  slots, tokens = {}, {}
  for line in io.lines(args[1]) do slots[#slots + 1] = line end
  for line in io.lines(args[2]) do tokens[#tokens + 1] = line end
  prefix, mode = args[3], args[4]
  n, ok, refused, pending, failed = 0, 0, 0, 0, 0
end
function request()
  n = n + 1
  local slot = slots[math.random(#slots)]
  if mode == "plain" then
    return wrk.format("POST", "/hold", {["Content-Type"] = "application/json"},
      '{"slot_id": "' .. slot .. '"}')
  end
  local phone = string.format("+97150%d%06d", tid, n % 1000000)
  local body = '{"slot_id": "' .. slot .. '", "customer": {"name": "Bench", "phone": "' ..
    phone .. '"}}'
  -- each of the two threads takes every other token, so no two requests share one
  local visitor = ((n - 1) * 2 + tid - 1) % #tokens
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[visitor + 1],
    ["Idempotency-Key"] = prefix .. "-" .. tid .. "-" .. n,
  }
  if mode == "crowd" then
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d",
      math.floor(visitor / 65536) % 256, math.floor(visitor / 256) % 256, visitor % 256)
  end
  return wrk.format("POST", "/v1/bookings", headers, body)
end
function response(status, headers, body)
  if status == 201 then ok = ok + 1
  elseif status == 409 then refused = refused + 1
  elseif status == 202 then pending = pending + 1
  else failed = failed + 1 end
end
function done(summary, latency, requests)
  local t = {0, 0, 0, 0}
  for _, thread in ipairs(threads) do
    t[1] = t[1] + thread:get("ok"); t[2] = t[2] + thread:get("refused")
    t[3] = t[3] + thread:get("pending"); t[4] = t[4] + thread:get("failed")
  end
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d %d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    t[1], t[2], t[3], t[4], summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
"""


@dataclass
class Figures:
    requests_per_second: float
    created_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    created: int
    refused: int
    pending: int
    server_errors: int
    socket_errors: int

    def line(self, name: str) -> str:
        return (
            f"{name:<26} {self.requests_per_second:>8.0f} req/s {self.created_per_second:>7.0f}"
            f" holds/s  p50 {self.p50_ms:6.1f}  p95 {self.p95_ms:6.1f}  p99 {self.p99_ms:6.1f} ms"
            f"  201={self.created} 409={self.refused} 202={self.pending}"
            f" other={self.server_errors} socket={self.socket_errors}"
        )

    def as_dict(self) -> dict:
        return asdict(self)

    def require_holds(self) -> "Figures":
        """These figures, for a load that must hold slots: one that was only refused (slots
        never shown, say) measured the refusal path, not the one it names."""
        if not self.created:
            raise RuntimeError(f"no hold succeeded: {self.refused} refused, {self.pending} pending")
        return self


def visitor_address(index: int) -> str:
    """The address the "crowd" mode gives the visitor of `tokens[index]`."""
    return f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}"


def _file(lines: list[str]) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(lines) + "\n")
    return handle.name


def drive(
    base_url: str,
    mode: str,
    slots: list[str],
    tokens: list[str],
    prefix: str,
    duration: float,
    connections: int = 64,
) -> Figures:
    """`mode` is "platform" (POST /v1/bookings), "crowd" (the same, each visitor token from
    its own address, `X-Forwarded-For`, `visitor_address`) or "plain" (POST /hold)."""
    script = _file([SCRIPT])
    command = [
        "wrk", "-t2", f"-c{connections}", f"-d{max(1, int(duration))}s", "--timeout", "10s",
        "-s", script, base_url, "--", _file(slots), _file(tokens or ["-"]), prefix, mode,
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(x for x in output.splitlines() if x.startswith("RESULT"))
    requests, micros, p50, p95, p99, ok, refused, pending, failed, sockets = (
        int(v) for v in line.split()[1:]
    )
    seconds = micros / 1e6
    return Figures(
        requests / seconds, ok / seconds, p50 / 1000, p95 / 1000, p99 / 1000,
        ok, refused, pending, failed, sockets,
    )  # fmt: skip
