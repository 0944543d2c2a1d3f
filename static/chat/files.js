/**
 * Files from the visitor: the attach button, drag and drop onto the chat, paste. Each file's
 * type and size are checked before it is sent; uploads show their progress (XMLHttpRequest
 * upload events) and can be cancelled. The server shares a sent file in the chat itself.
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
 * Sends `file` to POST /api/files, calling `onProgress(fraction)`.
 * @returns {{promise: Promise<void>, cancel: function(): void}} rejects with a message to show
 */
export function upload(file, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', '/api/files');
    xhr.setRequestHeader('X-Webchat-Token', TOKEN);
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.addEventListener('load', () => {
      const data = xhr.response;
      if (xhr.status >= 200 && xhr.status < 300 && data && !data.error) resolve();
      else reject(new Error((data && data.error && data.error.message) || t('file.failed', { name: file.name })));
    });
    xhr.addEventListener('error', () => reject(new Error(t('file.failed', { name: file.name }))));
    xhr.addEventListener('abort', () => reject(new Error(t('file.cancelled', { name: file.name }))));
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
