/**
 * The `http-guardrails` rule pack: HTTP methods and paths that need a person or are refused.
 * docs/policy.md documents each rule; keep the two in step.
 */
export const HTTP_GUARDRAILS = `// Gatehouse rule pack "http-guardrails". See docs/policy.md.

@id("pack.http.unusual-methods")
@message("only GET, HEAD, OPTIONS, POST, PUT, PATCH and DELETE are allowed")
forbid (
  principal,
  action in Gatehouse::Action::"http:any",
  resource
)
unless {
  action in [
    Gatehouse::Action::"http:GET",
    Gatehouse::Action::"http:HEAD",
    Gatehouse::Action::"http:OPTIONS",
    Gatehouse::Action::"http:POST",
    Gatehouse::Action::"http:PUT",
    Gatehouse::Action::"http:PATCH",
    Gatehouse::Action::"http:DELETE"
  ]
};

@id("pack.http.delete")
@decision("review")
@message("HTTP DELETE needs a human approval")
permit (
  principal,
  action == Gatehouse::Action::"http:DELETE",
  resource
);

@id("pack.http.admin-paths")
@decision("review")
@message("writes to admin paths need a human approval")
permit (
  principal,
  action in Gatehouse::Action::"http:write",
  resource
)
when { context has path && (context.path like "*/admin" || context.path like "*/admin/*") };
`;
