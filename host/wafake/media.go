package wafake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// MaxMediaBytes bounds one uploaded blob.
const MaxMediaBytes = 64 << 20

// mediaPrefix is where uploaded blobs are served; direct paths start with it.
const mediaPrefix = "/v/wafake/"

// routeMedia serves whatsmeow's media on the server's own listener:
// uploads (POST /mms/TYPE/TOKEN?auth=…&token=…), downloads of the returned
// URL or direct path (GET /v/wafake/ID…) and profile pictures (GET /pp/USER).
func (s *Server) routeMedia(mux *http.ServeMux) {
	mux.HandleFunc("POST /mms/{type}/{token}", s.serveUpload)
	mux.HandleFunc("GET "+mediaPrefix+"{id}", s.serveDownload)
	mux.HandleFunc("GET /pp/{user}", s.servePicture)
}

// answerMediaConn answers <iq xmlns=w:m><media_conn/></iq> with this
// server as the only media host. whatsmeow builds https URLs on it; the
// HTTP client from HTTPClient (see Route) reaches the server for any URL.
func (s *Server) answerMediaConn(req *waBinary.Node) waBinary.Node {
	if _, ok := req.GetOptionalChildByTag("media_conn"); !ok {
		return ResultNode(req)
	}
	return ResultNode(req, waBinary.Node{Tag: "media_conn", Attrs: waBinary.Attrs{
		"auth": s.mediaAuth, "ttl": "3600", "auth_ttl": "21600", "max_buckets": "12",
	}, Content: []waBinary.Node{{Tag: "host", Attrs: waBinary.Attrs{"hostname": s.Addr()}}}})
}

// uploadResponse is the JSON whatsmeow.UploadResponse decodes.
type uploadResponse struct {
	URL        string `json:"url"`
	DirectPath string `json:"direct_path"`
	Handle     string `json:"handle"`
	ObjectID   string `json:"object_id"`
}

func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("auth") != s.mediaAuth {
		http.Error(w, "bad media auth", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxMediaBytes))
	if err != nil {
		http.Error(w, "reading upload: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	sum := sha256.Sum256(body)
	if base64.URLEncoding.EncodeToString(sum[:]) != r.PathValue("token") {
		http.Error(w, "upload does not match its token (sha256 of the body)", http.StatusBadRequest)
		return
	}
	s.dir.mu.Lock()
	id := strconv.Itoa(s.dir.nextIDLocked()) + "-" + r.PathValue("type")
	s.dir.media[id] = body
	s.dir.mu.Unlock()
	path := mediaPrefix + id + "?ccb=wafake"
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(uploadResponse{
		URL:        "https://" + s.Addr() + path,
		DirectPath: path,
		Handle:     id,
		ObjectID:   id,
	})
}

func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request) {
	s.dir.mu.Lock()
	blob, ok := s.dir.media[r.PathValue("id")]
	s.dir.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(blob)
}

// SetProfilePicture gives user a profile picture (JPEG bytes), served on
// this server; nil removes it.
func (s *Server) SetProfilePicture(userJID types.JID, jpeg []byte) {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	u := s.dir.userLocked(userJID, true)
	u.picture, u.pictureID = jpeg, ""
	if jpeg != nil {
		u.pictureID = strconv.Itoa(s.dir.nextIDLocked())
	}
}

// answerPicture answers a w:profile:picture query for target: the URL of
// its picture on this server, or 404 (ErrProfilePictureNotSet) if none;
// status 304 when the client already has the current id.
func (s *Server) answerPicture(req *waBinary.Node) waBinary.Node {
	target, _ := req.Attrs["target"].(types.JID)
	pic, ok := req.GetOptionalChildByTag("picture")
	if !ok {
		return ResultNode(req)
	}
	s.dir.mu.Lock()
	u := s.dir.users[target.User]
	var id string
	if u != nil && target.Server == types.DefaultUserServer {
		id = u.pictureID
	}
	s.dir.mu.Unlock()
	if id == "" {
		return ErrorNode(req, 404, "item-not-found")
	}
	if pic.AttrGetter().OptionalString("id") == id {
		return ResultNode(req, waBinary.Node{Tag: "picture", Attrs: waBinary.Attrs{"status": "304"}})
	}
	path := "/pp/" + target.User + "?id=" + id
	return ResultNode(req, waBinary.Node{Tag: "picture", Attrs: waBinary.Attrs{
		"id": id, "type": pic.AttrGetter().OptionalString("type"),
		"url": "https://" + s.Addr() + path, "direct_path": path,
	}})
}

func (s *Server) servePicture(w http.ResponseWriter, r *http.Request) {
	user := strings.TrimSuffix(r.PathValue("user"), ".jpg")
	s.dir.mu.Lock()
	var pic []byte
	if u := s.dir.users[user]; u != nil {
		pic = u.picture
	}
	s.dir.mu.Unlock()
	if pic == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	_, _ = w.Write(pic)
}
