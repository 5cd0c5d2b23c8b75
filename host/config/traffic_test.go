package config_test

import (
	"testing"
	"time"

	"github.com/wahost/wahost/host/config"
)

func TestTrafficKeys(t *testing.T) {
	c, err := config.Load("", []string{
		"WAHOST_TRAFFIC_THRESHOLDS_UNACKED_SENDS=4", "WAHOST_TRAFFIC_ACK_TIMEOUT=10s",
		"WAHOST_TRAFFIC_THRESHOLDS_RECEIPT_SILENCE=2m",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	th := c.Traffic.Thresholds
	if th.UnackedSends != 4 || c.Traffic.AckTimeout != 10*time.Second || th.ReceiptSilence != 2*time.Minute ||
		th.Undecryptable != 3 || th.SendErrors != 5 {
		t.Fatalf("traffic %+v", c.Traffic)
	}
	if _, err := config.Load("", []string{"WAHOST_TRAFFIC_THRESHOLDS_UNDECRYPTABLE=-1"}, nil); err == nil {
		t.Fatal("a negative threshold was accepted")
	}
}
