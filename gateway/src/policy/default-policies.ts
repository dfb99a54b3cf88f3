/**
 * The quickstart's policies: a starting point to copy into `policy.cedar` and adapt, not a
 * recommendation for production. docs/policy.md explains each rule and the entity model.
 *
 * - members of `developers` may use every connection;
 * - writes to paths under `/admin/` wait for a human approval, except for `admins`;
 * - DELETE is forbidden for everyone but `admins` (a forbid beats any permit);
 * - members of `admins` may do anything not forbidden.
 */
export const DEFAULT_POLICIES = `// Gatehouse quickstart policies. See docs/policy.md.

@id("developers-use-connections")
permit (
  principal in Gatehouse::Group::"developers",
  action,
  resource
);

@id("admins-use-connections")
permit (
  principal in Gatehouse::Group::"admins",
  action,
  resource
);

@id("admin-path-writes-need-approval")
@decision("review")
@message("writes under /admin/ need a human approval")
permit (
  principal in Gatehouse::Group::"developers",
  action in Gatehouse::Action::"http:write",
  resource
)
when { context has path && context.path like "/admin/*" }
unless { principal in Gatehouse::Group::"admins" };

@id("only-admins-delete")
@message("DELETE is reserved to the admins group")
forbid (
  principal,
  action == Gatehouse::Action::"http:DELETE",
  resource
)
unless { principal in Gatehouse::Group::"admins" };
`;
