/**
 * Length of the `sid` column (`varchar(255)`), in characters: a key is the prefix followed by the
 * session id, so the prefix must leave room for the id.
 */
export const SID_COLUMN_LENGTH = 255;
