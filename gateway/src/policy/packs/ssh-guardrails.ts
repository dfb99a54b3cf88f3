/**
 * The `ssh-guardrails` rule pack: obviously destructive exec command lines. docs/policy.md
 * documents each rule; keep the two in step. The rules read `context.hazards`, which the SSH front
 * sets on every `ssh:exec` from a string heuristic on the command line as sent at channel open
 * (protocols/ssh/command-hazards.ts): a shell's typed commands, stdin and what an interpreter
 * builds at run time are not seen. Every rule reads it behind `has`.
 */
export const SSH_GUARDRAILS = `// Gatehouse rule pack "ssh-guardrails". See docs/policy.md.

@id("pack.ssh.remove-root")
@message("a recursive remove of / or a top-level directory is refused")
forbid (
  principal,
  action == Gatehouse::Action::"ssh:exec",
  resource
)
when { context has hazards && context.hazards.contains("remove-root") };

@id("pack.ssh.permissions-root")
@message("a recursive chmod, chown or chgrp of / or a top-level directory is refused")
forbid (
  principal,
  action == Gatehouse::Action::"ssh:exec",
  resource
)
when { context has hazards && context.hazards.contains("permissions-root") };

@id("pack.ssh.fork-bomb")
@message("a fork bomb is refused")
forbid (
  principal,
  action == Gatehouse::Action::"ssh:exec",
  resource
)
when { context has hazards && context.hazards.contains("fork-bomb") };

@id("pack.ssh.disk")
@decision("review")
@message("making filesystems and writing to disk devices need a human approval")
permit (
  principal,
  action == Gatehouse::Action::"ssh:exec",
  resource
)
when { context has hazards && context.hazards.containsAny(["make-filesystem", "dd-device", "device-write"]) };

@id("pack.ssh.power")
@decision("review")
@message("shutting down or rebooting a host needs a human approval")
permit (
  principal,
  action == Gatehouse::Action::"ssh:exec",
  resource
)
when { context has hazards && context.hazards.contains("power") };
`;
