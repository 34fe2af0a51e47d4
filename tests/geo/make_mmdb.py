#!/usr/bin/env python3
"""Writes a tiny MaxMind-format city database for thaw's tests (PyPI package mmdb-writer):
one network in the GeoIP2 layout and one in the flat layout of ip-location-db.

usage: make_mmdb.py OUT
"""
import sys

from mmdb_writer import MMDBWriter
from netaddr import IPSet

writer = MMDBWriter(ip_version=4, database_type="GeoIP2-City", languages=["en"], description="thaw test cities")
writer.insert_network(
    IPSet(["46.4.0.0/16"]),
    {"country": {"iso_code": "DE"}, "city": {"names": {"en": "Frankfurt"}}, "location": {"latitude": 50.1109, "longitude": 8.6821}},
)
writer.insert_network(IPSet(["101.80.0.0/16"]), {"country_code": "CN", "city": "Shanghai", "latitude": 31.2304, "longitude": 121.4737})
writer.to_db_file(sys.argv[1])
