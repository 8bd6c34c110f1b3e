// GaleKafka: Kafka for Gale topologies, over librdkafka (CRdKafka).
//
// Client/     the librdkafka wrapper: producer, consumer with manual assignment, admin, transactions
// Chunking/   payloads beyond the broker's message size: split into chunks, reassembled in a budget
// Spout/      KafkaSpout and its per-partition offset tracking
// Bolt/       KafkaBolt
