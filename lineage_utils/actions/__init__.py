"""Actions: plan what to change (as records), and later apply it when asked.

``records`` holds the action record written to ``actions.jsonl``; ``plan`` turns the
stored decisions (stale reports, orphan models) into dry-run actions and the
``cleanup.patch`` a reviewer reads.
"""
