/* identity.h — who is calling a service: a signed-in user (access token
 * verified locally with the keys auth publishes), another Dojo service (the
 * shared service key), or nobody.
 *
 * The verifier fetches Auth.GetPublicKeys on first use, caches the keys,
 * refreshes them every 5 minutes, and refetches at once when a token names a
 * kid it does not know — so auth's key rotation needs no restart anywhere.
 * Fetches, failed ones too, are at least 5 s apart: forged kids or an auth
 * outage never turn into a flood of calls to auth. Verifying is thread-safe
 * and runs concurrently (the cache is read-locked). The auth service itself
 * does not use this: it holds the keys. */
#ifndef DOJO_IDENTITY_H
#define DOJO_IDENTITY_H

#include <stdbool.h>

#include "err.h"
#include "rpc.h"
#include "token.h"

typedef struct identity_verifier identity_verifier_t;

typedef enum {
    IDENTITY_ANONYMOUS = 0,
    IDENTITY_USER,
    IDENTITY_SERVICE,
} identity_kind_t;

typedef struct identity {
    identity_kind_t kind;
    token_claims_t claims; /* IDENTITY_USER: sub (user id), role, name */
} identity_t;

/** Opens a verifier that fetches keys from the auth service at `auth_addr`
 * and accepts `service_key` ("" = no service callers) in x-dojo-service-key.
 * Keys are fetched on first use, so auth may start later. *out is new:
 * identity_verifier_close it. */
int identity_verifier_open(identity_verifier_t **out, const char *auth_addr,
                           const char *service_key, err_t **err);

void identity_verifier_close(identity_verifier_t *v);

/** Reads the caller of `call`. No credentials → IDENTITY_ANONYMOUS (not an
 * error); a bad token or service key → UNAUTHENTICATED; auth unreachable
 * while no keys are cached → UNAVAILABLE. Sets the call's log user. */
int identity_of_call(identity_verifier_t *v, rpc_call_t *call, identity_t *out, err_t **err);

/** Verifies an access token (without "Bearer ") with auth's keys: for
 * callers that receive tokens elsewhere than in gRPC metadata (the gateway's
 * HTTP requests). Fills *out. UNAUTHENTICATED for a malformed, forged or
 * expired token or one whose key auth does not publish; UNAVAILABLE when
 * no keys could be fetched yet. */
int identity_verify_token(identity_verifier_t *v, const char *jwt, token_claims_t *out,
                          err_t **err);

/** identity_of_call, then requires a user or a service (UNAUTHENTICATED). */
int identity_require_signed_in(identity_verifier_t *v, rpc_call_t *call, identity_t *out,
                               err_t **err);

/** True for a service, or a user whose role is one of "author"/"admin". */
bool identity_is_author(const identity_t *id);
/** True for a service, or a user who may teach: "teacher", "author" or "admin". */
bool identity_is_teacher(const identity_t *id);
bool identity_is_admin(const identity_t *id);

/** Metadata for calls this service makes to others as a service:
 * {"x-dojo-service-key", key, NULL}. Borrowed from the verifier. */
const char *const *identity_service_metadata(identity_verifier_t *v);

#endif
