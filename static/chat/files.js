/**
 * Files from the visitor: the attach button, drag and drop onto the chat, paste. Each file's
 * type and size are checked before it is sent; uploads show their progress (XMLHttpRequest
 * upload events) and can be cancelled; one that could not go says why and offers to retry.
 * The server shares a sent file in the chat itself.
 */
import { el, TOKEN } from './util.js';
import { t } from './i18n.js';

/** What may be sent: images, PDF, text and office documents, archives. */
const TYPES = /^(image\/(png|jpeg|gif|webp|heic|heif|bmp)|application\/pdf|text\/(plain|csv)|application\/(zip|rtf|msword|vnd\.(openxmlformats-officedocument|ms-excel|ms-powerpoint|oasis\.opendocument)[\w.+-]*))$/;
const EXTENSIONS = /\.(png|jpe?g|gif|webp|heic|heif|bmp|pdf|txt|csv|zip|rtf|docx?|xlsx?|pptx?|od[tsp])$/i;
export const ACCEPT = '.png,.jpg,.jpeg,.gif,.webp,.heic,.heif,.bmp,.pdf,.txt,.csv,.zip,.rtf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.odt,.ods,.odp';

/** Why `file` cannot be sent, or '' when it can. @param {File} file @param {number} maxBytes */
export function fileProblem(file, maxBytes) {
  const name = file.name || t('file.file');
  if (!(TYPES.test(file.type) || (!file.type || file.type === 'application/octet-stream') && EXTENSIONS.test(name))) {
    return t('file.badType', { name });
  }
  if (file.size > maxBytes) return t('file.tooBig', { name, size: Math.round(maxBytes / 1048576) });
  if (file.size === 0) return t('file.empty', { name });
  return '';
}

/**
 * Sends `file` to POST /api/files, calling `onProgress(fraction)`. A failure rejects with the
 * message to show and its `reason`: 'offline' (no answer: the network), 'failed' (the server
 * could not take it now: worth a retry), 'tooLarge', 'refused' (no retry will help) or
 * 'cancelled'.
 * @param {File} file @param {function(number): void} onProgress @param {number} maxBytes
 * @returns {{promise: Promise<void>, cancel: function(): void}}
 */
export function upload(file, onProgress, maxBytes) {
  const xhr = new XMLHttpRequest();
  const name = file.name || t('file.file');
  const promise = new Promise((resolve, reject) => {
    const fail = (reason, key) => reject(Object.assign(new Error(t(key, { name, size: Math.round(maxBytes / 1048576) })), { reason }));
    xhr.open('POST', '/api/files');
    xhr.setRequestHeader('X-Webchat-Token', TOKEN);
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.addEventListener('load', () => {
      const data = xhr.response;
      const code = data && data.error && data.error.code;
      const status = xhr.status;
      if (status >= 200 && status < 300 && data && !data.error) resolve();
      else if (status === 413) fail('tooLarge', 'file.tooBig');
      else if (code === 'chat_ended' || code === 'no_chat') fail('refused', 'file.chatEnded');
      else if (status === 429) fail('failed', 'file.busy');
      else if (status === 408 || status >= 500) fail('failed', 'file.failed');
      else fail('refused', 'file.refused');
    });
    xhr.addEventListener('error', () => fail('offline', 'file.offline'));
    xhr.addEventListener('abort', () => fail('cancelled', 'file.cancelled'));
    const body = new FormData();
    body.append('file', file, file.name);
    xhr.send(body);
  });
  return { promise, cancel: () => xhr.abort() };
}

/** Catches files dropped on, or pasted into, the chat and hands them to `onFile`. */
export class FileDrop {
  /**
   * @param {HTMLElement} zone where files may be dropped
   * @param {HTMLElement} overlay shown while a file is dragged over
   * @param {function(File): void} onFile
   * @param {function(): boolean} accepting whether files are taken now
   */
  constructor(zone, overlay, onFile, accepting) {
    let depth = 0;
    const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
    const show = (on) => { overlay.hidden = !on; };
    zone.addEventListener('dragenter', (e) => {
      if (!hasFiles(e) || !accepting()) return;
      depth += 1;
      show(true);
    });
    zone.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) show(false); });
    zone.addEventListener('dragover', (e) => { if (hasFiles(e) && accepting()) e.preventDefault(); });
    zone.addEventListener('drop', (e) => {
      depth = 0;
      show(false);
      if (!hasFiles(e) || !accepting()) return;
      e.preventDefault();
      [...e.dataTransfer.files].forEach(onFile);
    });
    document.addEventListener('paste', (e) => {
      const files = e.clipboardData ? [...e.clipboardData.files] : [];
      if (!files.length || !accepting()) return;
      e.preventDefault();
      files.forEach(onFile);
    });
  }
}

/** A transcript row showing an upload's progress, with Cancel. */
export function progressRow(name, onCancel) {
  const row = el('div', 'wc-upload');
  const label = el('span', 'wc-upload-name', t('file.uploading', { name }));
  const bar = el('progress', 'wc-progress');
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute('aria-label', t('file.uploading', { name }));
  const cancel = el('button', 'wc-button wc-button--link', t('file.cancel'));
  cancel.type = 'button';
  cancel.setAttribute('aria-label', `${t('file.cancel')}: ${name}`);
  cancel.addEventListener('click', onCancel);
  row.append(label, bar, cancel);
  return { row, set: (fraction) => { bar.value = Math.round(fraction * 100); } };
}

/**
 * A transcript row for a file that did not go (yet): why, and Retry and Cancel.
 * @param {string} name @param {string} why @param {function(): void} onRetry @param {function(): void} onCancel
 */
export function heldRow(name, why, onRetry, onCancel) {
  const row = el('div', 'wc-upload wc-upload--held');
  const buttons = el('span', 'wc-upload-actions');
  for (const [key, action] of [['file.retry', onRetry], ['file.cancel', onCancel]]) {
    const button = el('button', 'wc-button wc-button--link', t(key));
    button.type = 'button';
    button.setAttribute('aria-label', `${t(key)}: ${name}`);
    button.addEventListener('click', action);
    buttons.append(button);
  }
  row.append(el('span', 'wc-upload-name', why), buttons);
  return row;
}
