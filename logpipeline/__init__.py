"""Logstash pipeline, Filebeat config and Kibana saved objects as Python."""
