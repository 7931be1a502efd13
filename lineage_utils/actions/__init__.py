"""Actions: plan what to change (as records), and later apply it when asked.

``records`` holds the action record written to ``actions.jsonl``; ``plan`` turns the
stored decisions (stale reports, orphan models) into dry-run actions; ``dry_run`` gates
them (``gates``, ``archive``), journals them (``journal``) and makes the ``cleanup.patch``
(``worktree``: real ``git format-patch``) and ``pr_body.md`` (``pr_body``) a reviewer reads.
"""
