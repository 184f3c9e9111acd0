/**
 * An append-only file rotated at a size limit (and optionally on an interval), keeping
 * a bounded number of backups named `<base>-<UTC time><ext>`, optionally gzipped — the
 * layout Tetragon's export file has, so existing log shippers keep working.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";

export interface RotatingFileOptions {
  filename: string;
  maxSizeBytes: number;
  maxBackups: number;
  compress: boolean;
  mode: number;
  /** seconds; 0 = size only */
  rotationIntervalSec: number;
}

export class RotatingFile {
  private fd: number;
  private size: number;
  private openedAt = Date.now();
  private closed = false;
  rotations = 0;

  constructor(private readonly opts: RotatingFileOptions) {
    fs.mkdirSync(path.dirname(opts.filename), { recursive: true });
    this.fd = fs.openSync(opts.filename, "a", opts.mode);
    fs.fchmodSync(this.fd, opts.mode);
    this.size = fs.fstatSync(this.fd).size;
  }

  /** Appends whole lines; rotates first when they would cross the limit. */
  write(data: Buffer): void {
    if (this.closed) return;
    const dueByTime = this.opts.rotationIntervalSec > 0 && Date.now() - this.openedAt >= this.opts.rotationIntervalSec * 1000;
    if (this.size > 0 && (this.size + data.length > this.opts.maxSizeBytes || dueByTime)) this.rotate();
    let off = 0;
    while (off < data.length) off += fs.writeSync(this.fd, data, off);
    this.size += data.length;
  }

  rotate(): void {
    fs.closeSync(this.fd);
    const { dir, name, ext } = path.parse(this.opts.filename);
    const stamp = new Date().toISOString().replace(/:/g, "-").replace("Z", "");
    let backup = path.join(dir, `${name}-${stamp}${ext}`);
    for (let i = 1; fs.existsSync(backup) || fs.existsSync(backup + ".gz"); i++) {
      backup = path.join(dir, `${name}-${stamp}.${i}${ext}`);
    }
    fs.renameSync(this.opts.filename, backup);
    this.fd = fs.openSync(this.opts.filename, "a", this.opts.mode);
    fs.fchmodSync(this.fd, this.opts.mode);
    this.size = 0;
    this.openedAt = Date.now();
    this.rotations++;
    if (this.opts.compress) {
      const gz = zlib.gzipSync(fs.readFileSync(backup));
      fs.writeFileSync(backup + ".gz", gz, { mode: this.opts.mode });
      fs.unlinkSync(backup);
    }
    this.pruneBackups();
  }

  /** Backups of this file, oldest first. */
  backups(): string[] {
    const { dir, name, ext } = path.parse(this.opts.filename);
    const prefix = `${name}-`;
    return fs
      .readdirSync(dir)
      .filter((f) => f.startsWith(prefix) && (f.endsWith(ext) || f.endsWith(ext + ".gz")) && f !== path.basename(this.opts.filename))
      .map((f) => ({ f, t: fs.statSync(path.join(dir, f)).mtimeMs }))
      .sort((a, b) => a.t - b.t || (a.f < b.f ? -1 : 1))
      .map((x) => path.join(dir, x.f));
  }

  private pruneBackups(): void {
    if (this.opts.maxBackups <= 0) return;
    const all = this.backups();
    for (const f of all.slice(0, Math.max(0, all.length - this.opts.maxBackups))) fs.rmSync(f, { force: true });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}
