declare const GATEHOUSE_VERSION: string | undefined;

export const VERSION = typeof GATEHOUSE_VERSION === 'string' ? GATEHOUSE_VERSION : '0.0.0-dev';

export const USAGE = `gatehouse ${VERSION} — the Layer-7 gateway that puts AI coding agents on a leash

Usage: gatehouse <command> [options]

Commands:
  dev                         Start a local gateway on embedded defaults (development issuer,
                              filesystem log in ./.gatehouse, embedded state store, a demo
                              connection) and print how to send a first request.
  run --config FILE           Start the gateway with a configuration file.
  check-config FILE           Validate a configuration file; print every problem at once.
  token --dev [options]       Print a development token from the local development issuer.
        --sub NAME            subject (default: the current user)
        --groups A,B          groups (default: developers)
        --ttl SECONDS         lifetime (default: 3600)
        --config FILE         the configuration whose dev issuer to use
  verify PATH                 Verify a whole log (digests, segments, per-event hash chains) and
                              name the first broken link. Exit 0 when intact, 1 when not.
        --config FILE         verify the configured log store instead (S3, Azure Blob, GCS)
        --trust-key FILE      trusted digest public key (PEM); repeatable
  sessions list [filters]     List recorded sessions, newest first.
        --user U --connection C --from TIME --to TIME --request-id ID --status S --limit N --json
  sessions show ID            Show one session's index entry and its events as text.
  sessions export ID          Print the full JSON transcript of a session.
        (sessions commands take --config FILE; with a running gateway they use its admin API:
         --admin-url URL, --token TOKEN or GATEHOUSE_TOKEN)
  approvals list               List approval requests (default: pending), newest first.
        --status pending|granted|denied|expired|cancelled|all --limit N --json
  approvals show ID            Show one approval request and its votes.
  approvals approve ID         Approve (you must be in an approver group, not the requester).
  approvals deny ID            Deny; the operation is refused at once.
        --reason TEXT         why (recorded in the session)
        (approvals commands use a running gateway's admin API: --admin-url URL or --config FILE,
         --token TOKEN or GATEHOUSE_TOKEN; in development --as NAME mints a dev token)

Options:
  -h, --help                  Show this help.
  -v, --version               Show the version.

Environment:
  GATEHOUSE_CONFIG            configuration file for run/sessions (instead of --config)
  GATEHOUSE_CONFIG_YAML       configuration text (for containers), instead of a file
`;
