'use strict';

// HEALTHCHECK probe without curl or wget, which distroless images do not have.
const http = require('node:http');

const port = process.env.PORT || '8080';
const request = http.get({ host: '127.0.0.1', port, path: '/health', timeout: 3000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
request.on('timeout', () => request.destroy());
request.on('error', () => process.exit(1));
