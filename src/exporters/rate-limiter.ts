/**
 * --export-rate-limit: at most N events a minute (token bucket, burst N). What it drops
 * is counted and reported by the exporter as a rate_limit_info event.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  dropped = 0;

  constructor(private readonly perMinute: number, private readonly now: () => number = Date.now) {
    this.tokens = perMinute;
    this.last = now();
  }

  allow(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.perMinute, this.tokens + ((t - this.last) * this.perMinute) / 60000);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.dropped++;
    return false;
  }

  /** Returns and resets the drops since the last call. */
  takeDropped(): number {
    const d = this.dropped;
    this.dropped = 0;
    return d;
  }
}
