package storage

import "encoding/json"

// sinkColumn is how stores keep an instance's sink settings: one JSON
// object, so a new broker needs no migration.
type sinkColumn struct {
	RabbitMQ *SinkSettings `json:"rabbitmq,omitempty"`
	NATS     *SinkSettings `json:"nats,omitempty"`
}

// EncodeSinks returns the JSON document stores keep for s's sink
// settings (RabbitMQ and NATS).
func EncodeSinks(s InstanceSettings) []byte {
	var c sinkColumn
	if s.RabbitMQ.Enabled || len(s.RabbitMQ.Events) > 0 {
		c.RabbitMQ = &s.RabbitMQ
	}
	if s.NATS.Enabled || len(s.NATS.Events) > 0 {
		c.NATS = &s.NATS
	}
	b, _ := json.Marshal(c) // strings and bools only: cannot fail
	return b
}

// DecodeSinks reads a document EncodeSinks wrote into s.
func DecodeSinks(b []byte, s *InstanceSettings) error {
	var c sinkColumn
	// Most instances have no sinks: every decision's read finds '{}'.
	if len(b) > 0 && string(b) != "{}" {
		if err := json.Unmarshal(b, &c); err != nil {
			return err
		}
	}
	s.RabbitMQ, s.NATS = SinkSettings{}, SinkSettings{}
	if c.RabbitMQ != nil {
		s.RabbitMQ = *c.RabbitMQ
	}
	if c.NATS != nil {
		s.NATS = *c.NATS
	}
	return nil
}
