/**
 * Ids a caller chooses or reads back (session ids, idempotency keys, job ids), checked the same
 * way by the API model, the runtime and the job routes. Kept free of the validation library so
 * a route can check an id without loading it.
 */
export const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const ID_RULE = 'must be 1-128 letters, digits, or . _ : -';
