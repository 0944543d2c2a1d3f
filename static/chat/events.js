/**
 * What each ServicePattern server event (docs/servicepattern-api.md, Events) does to the page.
 * Handlers get (event, own, live): `own` for the visitor's own echoed messages and files,
 * `live` false while a transcript is redrawn or replayed.
 */
import { messageText, parseTime } from './util.js';
import { t } from './i18n.js';

/** @param {import('./controller.js').App} app */
export function eventHandlers(app) {
  const system = (text, kind, ev) => app.transcript.system(text, kind, ev && parseTime(ev.timestamp));
  const typing = (ev, own, live) => {
    if (!own && live) app.setTyping(ev.party_id, ev.event === 'chat_session_typing');
  };
  const agentSaid = (ev, own, live, text) => {
    if (own || !live) return;
    app.notifier.message();
    app.host.post('message', { text: text.slice(0, 500), from: app.nameOf(ev.party_id) });
  };
  return {
    chat_session_status: (ev) => onStatus(app, ev),
    chat_session_party_joined: (ev) => {
      const name = ev.display_name || [ev.first_name, ev.last_name].filter(Boolean).join(' ') || t('chat.agent');
      const avatar = ev.type === 'internal' ? `/api/photos/${encodeURIComponent(ev.party_id)}` : null; // a path: see linkTo
      const party = { name, avatar };
      app.parties.set(ev.party_id, party);
      if (ev.type === 'internal' || !app.agent) app.showAgent(party);
      system(t('chat.joined', { name }), 'join', ev);
    },
    chat_session_party_left: (ev) => {
      app.setTyping(ev.party_id, false);
      if (app.agent && app.agent === app.parties.get(ev.party_id)) app.showAgent(null);
      system(t('chat.left', { name: app.nameOf(ev.party_id) }), 'leave', ev);
    },
    chat_session_message: (ev, own, live) => {
      const opts = app.bubbleOptions(ev, own);
      const text = messageText(ev);
      app.setTyping(ev.party_id, false);
      if (own) app.textForm = null; // a form without a name was answered by it (replayed too)
      if (own && ev.msg_id) app.outbox.remove(ev.msg_id); // logged by the server: it reached ServicePattern
      if (own && app.transcript.has(ev.msg_id)) app.transcript.mark(ev.msg_id, true, opts);
      else app.transcript.message(opts, text, ev.html);
      agentSaid(ev, own, live, text);
    },
    chat_session_file: (ev, own, live) => {
      app.setTyping(ev.party_id, false);
      app.transcript.file(app.bubbleOptions(ev, own), ev);
      agentSaid(ev, own, live, ev.file_name || t('file.file'));
    },
    chat_session_location: (ev, own) => app.transcript.location(app.bubbleOptions(ev, own), ev),
    chat_session_signaling: (ev, own, live) => app.onSignal(ev, own, live), // calls: never shown as text
    chat_session_typing: typing,
    chat_session_not_typing: typing,
    chat_session_timeout_warning: (ev, own, live) => {
      system(messageText(ev) || t('chat.timeoutWarning'), 'warning', ev);
      if (live) app.notifier.message();
    },
    chat_session_inactivity_timeout: (ev) => app.endChat(messageText(ev) || t('chat.inactivity')),
    // The server's own end of a chat it found gone after inactivity says so (reason).
    chat_session_ended: (ev) => app.endChat(t(ev.reason === 'inactivity' ? 'chat.inactivity' : 'chat.ended')),
    chat_session_info: (ev) => app.showService(ev.service_name),
    chat_session_form_show: (ev, own, live) => {
      if (app.ended) return;
      // No form name: the visitor's next message answers it (session.js sendMessage).
      if (ev.form_name === '') return void (app.textForm = ev.form_request_id);
      app.forms.show(ev, live && app.notifier.seeing);
      if (live) app.notifier.message();
    },
  };
}

/** Queue position and state changes (chat_session_status). */
function onStatus(app, ev) {
  if (ev.state === 'queued') {
    const seconds = Number(ev.ewt);
    const text = seconds > 0 ? t('chat.waitingEwt', { n: Math.max(1, Math.round(seconds / 60)) }) : t('chat.waiting');
    // A newer estimate replaces the previous one while nothing else was said.
    const line = app.waitingLine;
    if (line && line === app.els.transcript.lastChild) line.firstChild.textContent = text;
    else app.waitingLine = app.transcript.system(text, 'queue');
  } else if (ev.state === 'failed') app.endChat(t('chat.failed'));
  // 'completed' is no end: a survey may still follow a soft end; chat_session_ended ends it.
}
