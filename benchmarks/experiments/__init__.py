"""One-off measurements that informed a design choice; not part of make bench."""
