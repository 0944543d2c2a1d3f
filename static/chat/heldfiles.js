/**
 * Files held for sending (picked while offline, or broken off by the network), kept in IndexedDB
 * so that a reload does not lose them: a File is stored as it is (the browser clones the handle,
 * this code never reads its bytes). Which ones this tab holds is in its sessionStorage
 * (session.js), so another tab of the same chat never sends them twice. Loaded with import()
 * only when a file is held. Anything older than a day is deleted when the next one is kept.
 */

const [DB, STORE, MAX_AGE_MS] = ['webchat-held-files', 'files', 24 * 3600 * 1000];

/** One transaction on the store; resolves with what `work` asked for once it is committed. */
function run(mode, work) {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(DB, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(STORE, { keyPath: 'id' });
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
      const db = opening.result;
      const tx = db.transaction(STORE, mode);
      const asked = work(tx.objectStore(STORE));
      tx.oncomplete = () => { db.close(); resolve(asked && asked.result); };
      tx.onerror = tx.onabort = () => { db.close(); reject(tx.error); };
    };
  });
}

/** Keeps `file` under `id` for the chat `chatId`, and drops what is older than a day. */
export function keep(id, chatId, file) {
  return run('readwrite', (files) => {
    files.openCursor().onsuccess = (e) => {
      const cursor = e.target.result;
      if (!cursor) return;
      if (Date.now() - cursor.value.at > MAX_AGE_MS) cursor.delete();
      cursor.continue();
    };
    return files.put({ id, chatId, file, at: Date.now() });
  });
}

/** @returns {Promise<{id: string, chatId: string, file: File} | undefined>} */
export function get(id) { return run('readonly', (files) => files.get(id)); }

export function forget(id) { return run('readwrite', (files) => files.delete(id)); }
