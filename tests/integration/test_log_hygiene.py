"""Logs never carry passwords or tokens. Runs last: it reads what every other
test made the auth processes log."""
import pytest

import authkit


@pytest.mark.last
def test_no_password_or_token_used_in_the_tests_reaches_a_log(client, auth):
    # Make sure the session process has served something, even when this test
    # runs alone.
    acct, pair = client.new_session()
    client.refresh(pair.refresh_token)
    assert len(authkit.SECRETS) >= 3
    assert auth.log_path in authkit.LOG_FILES
    leaks = []
    for path in authkit.LOG_FILES:
        if not path.exists():
            continue
        text = path.read_text(errors="replace")
        assert "level=" in text, f"{path} does not look like an auth log"
        for secret in authkit.SECRETS:
            if len(secret) >= 8 and secret in text:
                leaks.append(f"{path.name}: {secret[:12]}…")
    assert not leaks, "secrets found in logs:\n" + "\n".join(sorted(leaks))
