// Caps and names of the enrolment request (protocols/enrolment).

/** The `type` of an enrolment request document, and the version this code writes and reads. */
export const ENROLMENT_REQUEST_TYPE = 'counterweight.enrolment-request'
export const ENROLMENT_REQUEST_VERSION = 1

/**
 * Largest encoded request, checked before a byte is decoded. A real one is 1 to 3 KiB (the
 * hardware profile is most of it); the cap leaves room for a board with many accelerators while
 * keeping a request small enough for a 115200-baud serial console (about 3 s).
 */
export const MAX_ENROLMENT_REQUEST_BYTES = 32 * 1024
/** Caps on the two JSON sections, as canonical JSON text. */
export const MAX_ENROLMENT_HARDWARE_BYTES = 16 * 1024
export const MAX_ENROLMENT_LOCATION_BYTES = 4 * 1024
/** Deepest nesting of objects and arrays in a section; a hardware profile is 3 deep. */
export const MAX_CANONICAL_JSON_DEPTH = 8
