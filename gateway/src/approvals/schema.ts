import type { Migration } from '../state/migrations';

/**
 * The approvals schema (migrations component `approvals`). Append new versions; never edit an
 * applied one (its checksum is kept and a changed migration stops the gateway at start).
 */
export const APPROVAL_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'approval requests and votes',
    statements: [
      `create table gatehouse_approvals (
        id text primary key,
        status text not null,
        session_id text not null,
        request_id text not null,
        connection text not null,
        protocol text not null,
        action text not null,
        summary text not null,
        attributes jsonb not null default '{}'::jsonb,
        requester_subject text not null,
        requester_issuer text not null,
        requester_name text not null,
        requester_groups text[] not null default '{}',
        reasons text[] not null default '{}',
        min_approvals integer not null,
        created_at timestamptz not null,
        expires_at timestamptz not null,
        decided_at timestamptz,
        reason text,
        instance_id text
      )`,
      'create index gatehouse_approvals_created on gatehouse_approvals (created_at desc, id desc)',
      "create index gatehouse_approvals_pending on gatehouse_approvals (expires_at) where status = 'pending'",
      // One vote per approver: minimum counts count distinct people, not clicks.
      `create table gatehouse_approval_votes (
        approval_id text not null,
        subject text not null,
        issuer text not null,
        name text not null,
        verdict text not null,
        reason text,
        decided_at timestamptz not null,
        primary key (approval_id, subject)
      )`,
    ],
  },
  {
    version: 2,
    name: 'what the approver sees of the operation',
    // HTTP: method, canonical path and query, non-credential headers, body (masked as configured).
    statements: ['alter table gatehouse_approvals add column details jsonb'],
  },
  {
    version: 3,
    name: 'approvals granted for a retried operation',
    // retry_key: what a refuse-and-retry approval covers; consumed_at: when the retry used it.
    statements: [
      'alter table gatehouse_approvals add column retry_key text',
      'alter table gatehouse_approvals add column consumed_at timestamptz',
      'create index gatehouse_approvals_retry on gatehouse_approvals (retry_key) where retry_key is not null',
    ],
  },
];

/** The NOTIFY channel a decision is announced on; the payload is the approval id. */
export const APPROVAL_CHANNEL = 'gatehouse_approvals';
