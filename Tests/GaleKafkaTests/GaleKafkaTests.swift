// Unit tests of GaleKafka that need no broker. Tests against the broker live in IntegrationTests.
import Testing
