"""Which findings interrupt a reviewer with an inline comment, and which wait in the check run.

Severities keep the promise of Semgrep's policy modes: an ``error`` blocks (the check fails
with the default ``fail_on: error``) and is commented inline, a ``warning`` is commented
inline, a ``notice`` is recorded: an annotation and a line in the check run's summary.
``comment_on`` in ``.github/faultline.yml`` moves the line between commented and recorded;
a rule's ``comment: true`` or ``false`` overrides it for that rule. Whatever the policy, every
finding is annotated and counted in the check run, and the CLI shows them all.
"""

from __future__ import annotations

from collections.abc import Sequence

from faultline.analyzers.core.config import CONFIG_PATH, Config, RuleConfig
from faultline.analyzers.core.findings import Finding, Severity

# Why a finding has no inline comment, as the check run's summary lists it.
BELOW_COMMENT_ON = "{severity}s are listed here, not commented inline (`comment_on: {level}` in `{path}`)"
RULE_QUIET = "{code} is listed here, not commented inline (`comment: false` for it in `{path}`)"


class CommentPolicy:
    """The repository's choice of what gets an inline comment."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.threshold = Severity.parse(config.comment_on)

    def comments(self, finding: Finding) -> bool:
        chosen = self._rule_choice(finding)
        return finding.severity >= self.threshold if chosen is None else chosen

    def held(self, findings: Sequence[Finding]) -> dict[str, str]:
        """The findings the policy keeps out of the review, by fingerprint, with the reason."""
        return {f.fingerprint: self.reason(f) for f in findings if not self.comments(f)}

    def reason(self, finding: Finding) -> str:
        if self._rule_choice(finding) is False:
            return RULE_QUIET.format(code=finding.code, path=CONFIG_PATH)
        level = self.config.comment_on
        return BELOW_COMMENT_ON.format(severity=finding.severity, level=level, path=CONFIG_PATH)

    def _rule_choice(self, finding: Finding) -> bool | None:
        rules = self.config.rules
        settings: RuleConfig | None = rules.get(finding.code) or rules.get(finding.slug)
        return None if settings is None else settings.comment
