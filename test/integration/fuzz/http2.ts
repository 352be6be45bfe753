/**
 * HTTP/2 inputs by hand, through node:http2 (gRPC framing the client library would never send) and
 * a raw socket (frames cut short, garbage header blocks, no preface). Each gets an outcome: a
 * gRPC status (`grpc-status`), an HTTP status, a stream reset, or the connection closed with or
 * without a GOAWAY; 'no answer' when nothing came within the timeout.
 */
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { status as grpcStatus } from '@grpc/grpc-js';
import { rng } from '../../builders/prng.js';
import { METHOD_NAMES } from './inputs.js';

export interface Endpoint {
  port: number;
  /** TLS: the CA to trust and the client certificate to present; absent: plaintext. */
  tls?: { ca: string; cert: string; key: string };
}

const TIMEOUT_MS = 15_000;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

function frame(type: number, flags: number, stream: number, payload: Buffer, claimedLength = payload.length): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(claimedLength, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

const statusName = (code: number): string => (grpcStatus[code] as string | undefined) ?? `grpc-status ${code}`;

/** One HTTP/2 input; resolves to its outcome, never rejects. */
export function sendHttp2(ep: Endpoint, variant: number, seed: number): Promise<string> {
  return variant >= 7 ? rawSocket(ep, variant, seed) : grpcFraming(ep, variant, seed);
}

function grpcFraming(ep: Endpoint, variant: number, seed: number): Promise<string> {
  const r = rng(seed);
  return new Promise((resolve) => {
    let settled = false;
    const session = ep.tls
      ? http2.connect(`https://127.0.0.1:${ep.port}`, { ca: ep.tls.ca, cert: ep.tls.cert, key: ep.tls.key, servername: 'localhost' })
      : http2.connect(`http://127.0.0.1:${ep.port}`);
    const done = (outcome: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done('no answer'), TIMEOUT_MS);
    session.on('error', () => done('connection error'));
    session.on('goaway', () => undefined);
    const method = variant === 3 ? `Nope${r.int(0, 99)}` : r.pick(METHOD_NAMES);
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': `/gantry.v1.SchedulerService/${method}`,
      'content-type': variant === 4 ? 'text/plain' : 'application/grpc',
      te: 'trailers',
    };
    const req = session.request(headers);
    let httpStatus = 0;
    let fromHeaders: string | undefined;
    req.on('response', (h) => {
      httpStatus = Number(h[':status']);
      if (h['grpc-status'] !== undefined) fromHeaders = statusName(Number(h['grpc-status']));
    });
    req.on('trailers', (h) => {
      if (h['grpc-status'] !== undefined) done(statusName(Number(h['grpc-status'])));
    });
    req.on('data', () => undefined);
    req.on('close', () => done(fromHeaders ?? (req.rstCode ? `RST_STREAM ${req.rstCode}` : httpStatus ? `HTTP ${httpStatus}` : 'stream closed')));
    req.on('error', () => undefined);
    const body = Buffer.alloc(r.int(0, 64));
    for (let i = 0; i < body.length; i++) body[i] = r.int(0, 255);
    const prefix = (compressed: number, len: number): Buffer => {
      const p = Buffer.alloc(5);
      p[0] = compressed;
      p.writeUInt32BE(len, 1);
      return p;
    };
    switch (variant) {
      case 0: // a message shorter than its length prefix says
        req.end(Buffer.concat([prefix(0, body.length + r.int(1, 1 << 20)), body]));
        break;
      case 1: // a length prefix cut short
        req.end(prefix(0, body.length).subarray(0, r.int(1, 4)));
        break;
      case 2: // compressed, with no grpc-encoding
        req.end(Buffer.concat([prefix(1, body.length), body]));
        break;
      case 5: // two messages to a unary method
        req.end(Buffer.concat([prefix(0, 0), prefix(0, body.length), body]));
        break;
      case 6: // no message at all
        req.end();
        break;
      default:
        req.end(Buffer.concat([prefix(0, body.length), body]));
    }
  });
}

function rawSocket(ep: Endpoint, variant: number, seed: number): Promise<string> {
  const r = rng(seed);
  return new Promise((resolve) => {
    let settled = false;
    let goaway = false;
    let received = Buffer.alloc(0);
    const sock: net.Socket = ep.tls
      ? tls.connect({ host: '127.0.0.1', port: ep.port, ca: ep.tls.ca, cert: ep.tls.cert, key: ep.tls.key, servername: 'localhost', ALPNProtocols: ['h2'] })
      : net.connect({ host: '127.0.0.1', port: ep.port });
    const done = (outcome: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done('no answer'), TIMEOUT_MS);
    sock.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      // Frames from the server: a GOAWAY (type 7) is its answer to a connection it will not serve.
      for (let off = 0; off + 9 <= received.length; ) {
        const len = received.readUIntBE(off, 3);
        if (received[off + 3] === 7) goaway = true;
        off += 9 + len;
      }
      if (goaway) done('GOAWAY');
    });
    sock.on('error', () => done(goaway ? 'GOAWAY' : 'connection closed'));
    sock.on('close', () => done(goaway ? 'GOAWAY' : 'connection closed'));
    sock.once(ep.tls ? 'secureConnect' : 'connect', () => {
      const garbage = Buffer.alloc(r.int(1, 200));
      for (let i = 0; i < garbage.length; i++) garbage[i] = r.int(0, 255);
      const settings = frame(4, 0, 0, Buffer.alloc(0));
      let out: Buffer;
      if (variant === 7) {
        // A frame whose header claims more than is sent, or a header cut short.
        const f = frame(r.pick([0, 1, 4, 8]), r.int(0, 255), r.int(0, 9), garbage, garbage.length + r.int(1, 16_000));
        out = Buffer.concat([PREFACE, settings, f.subarray(0, r.chance(0.5) ? r.int(1, 8) : f.length)]);
      } else if (variant === 8) {
        // A HEADERS frame (END_HEADERS) whose HPACK block is garbage.
        out = Buffer.concat([PREFACE, settings, frame(1, 0x4, 1, garbage)]);
      } else {
        out = garbage; // no preface
      }
      sock.write(out);
      // Then the half-close: a server waiting for the rest of a frame sees the end of the stream.
      setTimeout(() => sock.end(), 200);
    });
  });
}
