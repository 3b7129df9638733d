"""Links through an IAM Identity Center access portal: a console link as a shortcut link that
signs the engineer in to the alert's account with a chosen role, wherever they were signed in
(the portal's "Create shortcut" format: `<start URL>/#/console?account_id=…&role_name=…&
destination=<the console URL, encoded>`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from shared.platform.errors import ConfigError

_START_URL = re.compile(r"https://[A-Za-z0-9.-]+(?:/[A-Za-z0-9._~/-]*)?")
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")  # an IAM role (a permission set) name
_ACCOUNT = re.compile(r"\d{12}")


@dataclass(frozen=True, slots=True)
class Portal:
    start_url: str  # e.g. https://d-1234567890.awsapps.com/start
    role_name: str
    monitoring_account: str = ""  # the dashboard's account

    def link(self, url: str, account: str) -> str:
        return (
            f"{self.start_url}/#/console?account_id={quote(account, safe='')}"
            f"&role_name={quote(self.role_name, safe='')}&destination={quote(url, safe='')}"
        )

    @classmethod
    def of(cls, start_url: str, role_name: str, monitoring_account: str = "") -> Portal | None:
        """None when no portal is configured; a ConfigError naming what is wrong otherwise."""
        start_url, role_name = start_url.strip().rstrip("/"), role_name.strip()
        if not start_url and not role_name:
            return None
        if not _START_URL.fullmatch(start_url):
            raise ConfigError(f"ACCESS_PORTAL_URL={start_url[:100]!r} is not an https:// URL")
        if not _ROLE_NAME.fullmatch(role_name):
            raise ConfigError(f"ACCESS_ROLE_NAME={role_name[:100]!r} is not a role name")
        if monitoring_account and not _ACCOUNT.fullmatch(monitoring_account):
            raise ConfigError(f"MONITORING_ACCOUNT_ID={monitoring_account[:20]!r} is not an id")
        return cls(start_url, role_name, monitoring_account)
