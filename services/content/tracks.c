/* tracks.c — ListTracks: the tracks in display order. What a track may
 * contain is trackjson.c's; loading them is load.c's. */
#include "content.h"
#include "libcommon/cleanup.h"

static const pg_stmt_t stmt_track_list = {
    .name = "content_track_list",
    .sql = "SELECT def FROM content.tracks ORDER BY sort_order, slug",
    .nparams = 0,
};

int content_rpc_list_tracks(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err)
{
    (void)req;
    content_t *c = rpc_call_payload(call);
    identity_t id;
    if (content_require_signed_in(c, call, &id, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    if (content_conn(c, &conn, err) < 0 || pg_exec(conn, &stmt_track_list, NULL, &r, err) < 0)
        return err_wrap(err, "list tracks");
    Dojo__Content__V1__ListTracksResponse *resp = RPC_NEW(
        call, Dojo__Content__V1__ListTracksResponse, DOJO__CONTENT__V1__LIST_TRACKS_RESPONSE__INIT);
    int n = PQntuples(r);
    resp->tracks = rpc_alloc(call, ((size_t)n + 1) * sizeof *resp->tracks);
    for (int i = 0; i < n; i++) {
        cleanup_json json_t *d = json_loads(pg_get(r, i, 0), 0, NULL);
        if (d == NULL)
            return err_set(err, GRPC_STATUS_INTERNAL, "track row %d: bad stored JSON", i);
        resp->tracks[resp->n_tracks++] = track_to_message(call, d);
    }
    *out = &resp->base;
    return 0;
}
