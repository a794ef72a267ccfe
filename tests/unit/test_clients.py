"""Who is connecting: the peer, or behind trusted proxies the right-most address they
do not own in `X-Forwarded-For`."""

from ipaddress import ip_network

import pytest

from eventsproject.web.clients import client_address

PROXIES = (ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8"))


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("203.0.113.9", "198.51.100.7", "203.0.113.9"),  # not a proxy: its claim is ignored
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),
        ("127.0.0.1", "1.2.3.4, 198.51.100.7", "198.51.100.7"),  # the left is the client's claim
        ("127.0.0.1", "198.51.100.7, 10.1.2.3", "198.51.100.7"),  # past a second proxy
        ("127.0.0.1", "10.1.2.3, 10.4.5.6", "127.0.0.1"),  # proxies all the way
        ("127.0.0.1", "198.51.100.7, " + "x" * 100, "x" * 100),  # junk, not a proxy
        ("127.0.0.1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_is_the_right_most_address_no_trusted_proxy_owns(peer, forwarded_for, client):
    meta = {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": forwarded_for}

    assert client_address(meta, PROXIES) == client


def test_an_address_is_judged_against_the_proxies_of_each_call():
    meta = {"REMOTE_ADDR": "10.1.2.3", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}

    assert client_address(meta, PROXIES) == "198.51.100.7"
    assert client_address(meta, (ip_network("127.0.0.1/32"),)) == "10.1.2.3"
