package abi_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/wahost/wahost/abi"
)

// history is n disconnects one minute apart, the last one a minute ago,
// alternating codes 428 and 440.
func history(now int64, n int) []abi.HistoryEntry {
	h := make([]abi.HistoryEntry, n)
	for i := range h {
		h[i] = abi.HistoryEntry{AtMS: now - int64(n-i)*60_000, Kind: abi.KindDisconnected,
			Code: []int{428, 440}[i%2], Action: abi.ActionReconnect, Step: 1}
	}
	return h
}

func TestSummarize(t *testing.T) {
	now := int64(1_767_225_600_000)
	var s abi.HistorySummary
	abi.Summarize(now, history(now, 100), &s)
	// 5 minutes: the last 5; 1 hour: the last 60; 24 hours: all 100.
	if s.Total != [3]int{5, 60, 100} {
		t.Errorf("total = %v", s.Total)
	}
	if got := s.Code(440); got.Counts != [3]int{3, 30, 50} || got.LastMS != now-60_000 {
		t.Errorf("440 = %+v", got)
	}
	if got := s.Code(428); got.Counts != [3]int{2, 30, 50} || got.LastMS != now-2*60_000 {
		t.Errorf("428 = %+v", got)
	}
	if got := s.Kind(abi.KindDisconnected); got.Counts != s.Total {
		t.Errorf("kind = %+v", got)
	}
	if len(s.Actions) != 1 || s.Actions[0].Counts != s.Total {
		t.Errorf("actions = %+v", s.Actions)
	}
}

// TestInputForMinor: a module of minor 0 gets the document as it is; a
// later one gets the last HistoryTail entries and the same summary.
func TestInputForMinor(t *testing.T) {
	in := abi.SelfTestInput(nil)
	in.History = history(in.NowMS, 300)
	doc := in.AppendJSON(nil)
	if got := abi.InputForMinor(0, doc); !bytes.Equal(got, doc) {
		t.Error("minor 0 did not get the document unchanged")
	}
	lean := abi.InputForMinor(1, doc)
	var full, cut abi.Input
	if err := abi.DecodeInput(doc, &full); err != nil {
		t.Fatal(err)
	}
	if err := abi.DecodeInput(lean, &cut); err != nil {
		t.Fatalf("lean document rejected: %v\n%s", err, lean)
	}
	if !reflect.DeepEqual(cut.History, full.History[300-abi.HistoryTail:]) {
		t.Errorf("lean history has %d entries, want the last %d", len(cut.History), abi.HistoryTail)
	}
	if !reflect.DeepEqual(cut.Summary, full.Summary) || cut.Summary.Total[2] != 300 {
		t.Errorf("lean summary = %+v, want %+v", cut.Summary, full.Summary)
	}
	// The summary is found however its key is spelled.
	escaped := bytes.Replace(doc, []byte(`"history_summary"`), []byte(`"history\u005fsummary"`), 1)
	want := bytes.Replace(lean, []byte(`"history_summary"`), []byte(`"history\u005fsummary"`), 1)
	if got := abi.InputForMinor(1, escaped); !bytes.Equal(got, want) {
		t.Errorf("a summary key with an escape: got\n%s\nwant\n%s", got, want)
	}
	// Short histories and foreign documents pass unchanged.
	in.History = history(in.NowMS, abi.HistoryTail)
	short := in.AppendJSON(nil)
	for _, d := range [][]byte{short, []byte(`{"v":1,"history":[{"at_ms":1}]}`), []byte(`{"v":1}`)} {
		if got := abi.InputForMinor(1, d); !bytes.Equal(got, d) {
			t.Errorf("InputForMinor changed %s", d)
		}
	}
}

// TestSummaryRoundTrip: the summary of a history longer than the tail is
// in the document, and decodes to what Summarize computes.
func TestSummaryRoundTrip(t *testing.T) {
	in := abi.SelfTestInput(nil)
	in.History = history(in.NowMS, abi.HistoryTail+1)
	var got abi.Input
	if err := abi.DecodeInput(in.AppendJSON(nil), &got); err != nil {
		t.Fatal(err)
	}
	var want abi.HistorySummary
	abi.Summarize(in.NowMS, in.History, &want)
	if !got.HasSummary || !reflect.DeepEqual(got.Summary, want) {
		t.Fatalf("summary = %+v, want %+v", got.Summary, want)
	}
	// Counts written another way take the slow path.
	doc := []byte(`{"v":1,"history_summary":{"total":[ 1, 2 ,3 ],"codes":[{"code":428,"counts":[0,1,20],"last_ms":5}]}}`)
	if err := abi.DecodeInput(doc, &got); err != nil || got.Summary.Total != [3]int{1, 2, 3} || got.Summary.Code(428).Counts != [3]int{0, 1, 20} {
		t.Fatalf("decoded %+v, %v", got.Summary, err)
	}
	for _, bad := range []string{`[1,2]`, `[1,2,3,4]`, `[01,2,3]`, `[1,2,"3"]`} {
		if err := abi.DecodeInput([]byte(`{"v":1,"history_summary":{"total":`+bad+`}}`), &got); err == nil {
			t.Errorf("total %s accepted", bad)
		}
	}
}
