// The Node `ws` peer for scripts/idle.sh: a bare WebSocket server on
// 127.0.0.1:PORT (0 = any free port; the chosen one is printed as
// "listening on PORT") that keeps every connection open and answers pings
// (ws answers them itself). No compression, no per-connection state of ours.
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 0);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, clientTracking: false, backlog: 4096 });
wss.on('connection', (socket) => {
  socket.on('error', () => {});
});
wss.on('listening', () => {
  console.log(`listening on ${wss.address().port}`);
});
