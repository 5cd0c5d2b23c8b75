package migrate

import (
	"errors"
	"testing"
	"testing/fstest"

	"github.com/wahost/wahost/storage"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []int
		wantErr bool
	}{
		{"ordered", fstest.MapFS{"m/0002_b.sql": {Data: []byte("b")}, "m/0001_a.sql": {Data: []byte("a")}, "m/README": {}}, []int{1, 2}, false},
		{"gap", fstest.MapFS{"m/0001_a.sql": {}, "m/0003_c.sql": {}}, nil, true},
		{"duplicate", fstest.MapFS{"m/0001_a.sql": {}, "m/1_b.sql": {}}, nil, true},
		{"bad name", fstest.MapFS{"m/init.sql": {}}, nil, true},
		{"zero", fstest.MapFS{"m/0000_a.sql": {}}, nil, true},
		{"empty", fstest.MapFS{"m/x.txt": {}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := Load(tt.files, "m")
			if (err != nil) != tt.wantErr {
				t.Fatalf("Load err = %v, wantErr %v", err, tt.wantErr)
			}
			if len(ms) != len(tt.want) {
				t.Fatalf("Load = %d migrations, want %d", len(ms), len(tt.want))
			}
			for i, m := range ms {
				if m.Version != tt.want[i] || m.Sum == "" {
					t.Errorf("migration %d = %+v", i, m)
				}
			}
		})
	}
}

func TestPending(t *testing.T) {
	all := []Migration{{Version: 1, Sum: "a"}, {Version: 2, Sum: "b"}, {Version: 3, Sum: "c"}}
	tests := []struct {
		name    string
		applied []Applied
		want    []int
		wantErr error
	}{
		{"fresh", nil, []int{1, 2, 3}, nil},
		{"partial", []Applied{{1, "a"}}, []int{2, 3}, nil},
		{"current", []Applied{{1, "a"}, {2, "b"}, {3, "c"}}, nil, nil},
		{"too new", []Applied{{1, "a"}, {4, "d"}}, nil, storage.ErrSchemaTooNew},
		{"edited", []Applied{{1, "x"}}, nil, ErrChanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Pending(all, tt.applied)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Pending err = %v, want %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Pending = %v, want versions %v", got, tt.want)
			}
			for i, m := range got {
				if m.Version != tt.want[i] {
					t.Errorf("pending[%d] = %d, want %d", i, m.Version, tt.want[i])
				}
			}
		})
	}
}
