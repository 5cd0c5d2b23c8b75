package msgconv

import (
	"math"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/message"
)

// locationMessage is a pin on the map.
func locationMessage(out message.Outgoing, ci *waE2E.ContextInfo) (*waE2E.Message, error) {
	loc := out.Location
	if loc == nil {
		return nil, invalid("location message without a location")
	}
	if math.IsNaN(loc.Latitude) || math.IsNaN(loc.Longitude) ||
		math.Abs(loc.Latitude) > 90 || math.Abs(loc.Longitude) > 180 {
		return nil, invalid("location %v,%v is not on the map", loc.Latitude, loc.Longitude)
	}
	lm := &waE2E.LocationMessage{
		DegreesLatitude:  proto.Float64(loc.Latitude),
		DegreesLongitude: proto.Float64(loc.Longitude),
		ContextInfo:      ci,
	}
	if loc.Name != "" {
		lm.Name = proto.String(loc.Name)
	}
	if loc.Address != "" {
		lm.Address = proto.String(loc.Address)
	}
	return &waE2E.Message{LocationMessage: lm}, nil
}
