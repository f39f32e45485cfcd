'use strict';

// Sample application scanned by the mamori CI gate (see deploy/github/).
const https = require('node:https');
const express = require('express');

const PORT = Number.parseInt(process.env.PORT || '8080', 10);
const HOST = process.env.HOST || '0.0.0.0';
// example.com is reserved for documentation; point OUTGOING_URL at a real endpoint.
const OUTGOING_URL = process.env.OUTGOING_URL || 'https://example.com/';
const OUTGOING_TIMEOUT_MS = 5000;

const app = express();
app.disable('x-powered-by');

app.get('/', (req, res) => {
  res.json({ app: 'mamori-sample-app', message: 'Hello from the sample app' });
});

app.get('/health', (req, res) => {
  res.json({ status: 'ok' });
});

app.get('/outgoing-http-call', (req, res) => {
  const request = https.get(OUTGOING_URL, { timeout: OUTGOING_TIMEOUT_MS }, (upstream) => {
    upstream.resume(); // the body is not needed, only that the call succeeded
    upstream.on('end', () => {
      res.json({ url: OUTGOING_URL, status: upstream.statusCode });
    });
  });
  request.on('timeout', () => request.destroy(new Error('timed out')));
  request.on('error', (err) => {
    res.status(502).json({ url: OUTGOING_URL, error: err.message });
  });
});

const server = app.listen(PORT, HOST, () => {
  const { address, port } = server.address();
  console.log(`listening on ${address}:${port}`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
