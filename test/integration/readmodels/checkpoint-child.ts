// A writer for the kill -9 test of the read models' checkpoint thread: commits numbered rows one
// transaction at a time, with a turn of the event loop between them (as the service's commits
// come), and prints each number once its commit returned.
import { openReadModelStore } from '../../../src/readmodels/read-model-store.js';

const store = openReadModelStore({ file: process.env.READ_MODEL_FILE!, checkpointThread: true });
await store.exec('CREATE TABLE IF NOT EXISTS numbered (n INTEGER PRIMARY KEY, pad TEXT NOT NULL)');
for (let n = 1; ; n++) {
  await store.transaction(async (tx) => {
    for (let row = 0; row < 10; row++) await tx.run('INSERT INTO numbered (n, pad) VALUES (?, ?)', n * 10 + row, 'x'.repeat(400));
  });
  process.stdout.write(`${n}\n`);
  await new Promise((resolve) => setImmediate(resolve));
}
