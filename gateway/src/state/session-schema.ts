import type { Migration } from './migrations';

/**
 * The session index schema. Append new versions; never edit an applied one (its checksum is kept
 * and a changed migration stops the gateway at start).
 */
export const SESSION_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'sessions, request ids and segment keys',
    statements: [
      `create table gatehouse_sessions (
        id text primary key,
        protocol text not null,
        connection text,
        subject text,
        user_name text,
        issuer text,
        groups text[] not null default '{}',
        client_address text,
        started_at timestamptz not null,
        ended_at timestamptz,
        status text not null,
        event_count integer not null default 0,
        request_count integer not null default 0,
        denied_count integer not null default 0,
        counters jsonb not null default '{}'::jsonb
      )`,
      'create index gatehouse_sessions_started on gatehouse_sessions (started_at desc, id desc)',
      'create index gatehouse_sessions_subject on gatehouse_sessions (subject)',
      'create index gatehouse_sessions_user_name on gatehouse_sessions (user_name)',
      'create index gatehouse_sessions_connection on gatehouse_sessions (connection, started_at desc)',
      // No foreign keys: request ids arrive in batches and may land before or after their session row.
      `create table gatehouse_session_requests (
        session_id text not null,
        request_id text not null,
        client_request_id text,
        seen_at timestamptz not null,
        primary key (session_id, request_id)
      )`,
      'create index gatehouse_session_requests_request on gatehouse_session_requests (request_id)',
      'create index gatehouse_session_requests_client on gatehouse_session_requests (client_request_id) where client_request_id is not null',
      `create table gatehouse_session_segments (
        session_id text not null,
        segment_key text not null,
        primary key (session_id, segment_key)
      )`,
    ],
  },
  {
    version: 2,
    name: 'console search: event rows, decision bits, client session ids, full text',
    statements: [
      // Session aggregates, so the console's list query never scans events: the OR of the
      // sessions' decision bits (event-index-row.ts), the client's own session id (Claude Code's
      // x-claude-code-session-id), and the union of its events' lexemes (stripped of positions:
      // the per-event documents keep them).
      'alter table gatehouse_sessions add column decisions integer not null default 0',
      'alter table gatehouse_sessions add column client_session_id text',
      'alter table gatehouse_sessions add column doc tsvector',
      'create index gatehouse_sessions_doc on gatehouse_sessions using gin (doc)',
      'create index gatehouse_sessions_client_session on gatehouse_sessions (client_session_id) where client_session_id is not null',
      'create index gatehouse_sessions_protocol on gatehouse_sessions (protocol, started_at desc)',
      'create index gatehouse_sessions_subject_started on gatehouse_sessions (subject, issuer, started_at desc)',
      // One compact row per recorded event: where it is, what was decided, what it says (masked,
      // as recorded; capped at 8 KiB of text). No foreign key: rows arrive in background batches.
      `create table gatehouse_session_events (
        session_id text not null,
        seq integer not null,
        time timestamptz not null,
        type text not null,
        decisions smallint not null default 0,
        request_id text,
        doc tsvector,
        primary key (session_id, seq)
      )`,
    ],
  },
];
