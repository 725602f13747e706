/**
 * @module
 * The HTTP face of the toolstack: XML-RPC at `/` and `/RPC2`, JSON-RPC at `/jsonrpc`, and
 * the PUT/GET handlers (uploads, disk import and export) that other modules register.
 * Bodies are bounded; anything malformed is answered with a typed error in the caller's
 * protocol and the server carries on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from '../core/api-error.js';
import { toWireError } from '../core/wire-errors.js';
import type { Dispatcher } from './dispatcher.js';
import { jsonRpcFailure, jsonRpcSuccess, parseJsonRpcCall } from './wire/jsonrpc.js';
import { parseXmlRpcCall, xmlRpcBare, xmlRpcFailure, xmlRpcSuccess } from './wire/xmlrpc.js';

/** A handler for a raw HTTP resource such as `PUT /pool_patch_upload`. */
export type ResourceHandler = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void>;

export interface HttpApiOptions {
  readonly dispatcher: Dispatcher;
  /** Keyed by `METHOD /path`. */
  readonly resources?: ReadonlyMap<string, ResourceHandler>;
  /** Largest RPC body accepted, in bytes. */
  readonly maxBodyBytes?: number;
  readonly log?: (msg: string) => void;
  /** GET/HEAD requests no resource claims (the web console's static files). */
  readonly staticFiles?: (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>;
  /** Aborted when the toolstack stops: answers then close their connections. */
  readonly stopping?: AbortSignal;
}

const CORS = { 'access-control-allow-origin': '*', 'access-control-allow-headers': '*' };

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function peerOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

export function createHttpApi(o: HttpApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const limit = o.maxBodyBytes ?? 8 * 1024 * 1024;
  const log = o.log ?? (() => {});

  function send(res: ServerResponse, status: number, type: string, body: string): void {
    if (res.headersSent) return;
    // A stopping toolstack closes each connection after its answer, so that no client
    // sends its next call down a connection about to be cut.
    const close = o.stopping?.aborted ? { connection: 'close' } : {};
    res.writeHead(status, { ...CORS, ...close, 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  async function xmlrpc(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: string;
    try {
      body = await readBody(req, limit);
    } catch (e) {
      const tooLarge = e instanceof BodyTooLarge;
      const err = tooLarge ? ['REQUEST_ENTITY_TOO_LARGE'] : ['XMLRPC_UNMARSHAL_FAILURE', 'body could not be read'];
      send(res, tooLarge ? 413 : 400, 'text/xml', xmlRpcFailure(err));
      return;
    }
    let call: { method: string; params: unknown[] };
    try {
      call = parseXmlRpcCall(body);
    } catch (e) {
      send(res, 200, 'text/xml', xmlRpcFailure(['XMLRPC_UNMARSHAL_FAILURE', e instanceof Error ? e.message : String(e)]));
      return;
    }
    try {
      const value = await o.dispatcher.call(call.method, call.params, peerOf(req));
      // xapi answers system.* calls bare, without the Status/Value wrapper.
      send(res, 200, 'text/xml', call.method.startsWith('system.') ? xmlRpcBare(value) : xmlRpcSuccess(value));
    } catch (e) {
      const err = toWireError(e);
      if (err.code === 'INTERNAL_ERROR') log(`${call.method}: ${e instanceof Error ? e.stack : String(e)}`);
      send(res, 200, 'text/xml', xmlRpcFailure(err.toWire()));
    }
  }

  async function jsonrpc(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: string;
    try {
      body = await readBody(req, limit);
    } catch (e) {
      const tooLarge = e instanceof BodyTooLarge;
      const err = new ApiError(tooLarge ? 'REQUEST_ENTITY_TOO_LARGE' : 'JSONRPC_UNMARSHAL_FAILURE', tooLarge ? [] : ['body could not be read']);
      send(res, tooLarge ? 413 : 400, 'application/json', jsonRpcFailure(null, 2, err.toWire()));
      return;
    }
    let call: ReturnType<typeof parseJsonRpcCall>;
    try {
      call = parseJsonRpcCall(body);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      send(res, 400, 'application/json', jsonRpcFailure(null, 2, ['JSONRPC_UNMARSHAL_FAILURE', msg]));
      return;
    }
    try {
      const result = await o.dispatcher.callJson(call.method, call.params, peerOf(req));
      send(res, 200, 'application/json', jsonRpcSuccess(call.id, call.version, result));
    } catch (e) {
      const err = toWireError(e);
      if (err.code === 'INTERNAL_ERROR') log(`${call.method}: ${e instanceof Error ? e.stack : String(e)}`);
      send(res, 200, 'application/json', jsonRpcFailure(call.id, call.version, err.toWire()));
    }
  }

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const done = (p: Promise<void>) =>
      p.catch((e) => {
        log(`${req.method} ${path}: ${e instanceof Error ? e.stack : String(e)}`);
        if (!res.headersSent) send(res, 500, 'text/plain', 'Internal error\n');
        else res.destroy();
      });
    if (req.method === 'OPTIONS') {
      res.writeHead(200, { ...CORS, 'access-control-allow-methods': 'GET, POST, PUT, OPTIONS' });
      res.end();
      return;
    }
    if (req.method === 'POST' && (path === '/' || path === '/RPC2' || path === '/xmlrpc')) return void done(xmlrpc(req, res));
    if (req.method === 'POST' && path === '/jsonrpc') return void done(jsonrpc(req, res));
    // Clients differ on a trailing slash (Xen Orchestra asks for `/export_raw_vdi/`); xapi
    // serves both forms.
    const bare = path.length > 1 ? path.replace(/\/+$/, '') : path;
    const handler = o.resources?.get(`${req.method} ${path}`) ?? o.resources?.get(`${req.method} ${bare}`);
    if (handler) return void done(handler(req, res, url.searchParams));
    if (o.staticFiles && (req.method === 'GET' || req.method === 'HEAD')) return void done(o.staticFiles(req, res, path));
    req.resume();
    send(res, 404, 'text/plain', 'Not found\n');
  };
}
