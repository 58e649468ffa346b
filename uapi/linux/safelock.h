/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/*
 * safelock: the contract between the safe-lock controller driver and
 * userspace.  Two interfaces:
 *
 *  - the character device /dev/safelockN: information, state, "lock now"
 *    and an event stream (read()/poll());
 *  - the generic netlink family "safelock": the verifier (safelockd)
 *    registers, receives VERIFY requests and answers with VERDICTs; anyone
 *    may read the status; CAP_NET_ADMIN holders may follow events.
 *
 * Nothing in either interface opens the bolt: only a GRANTED verdict from the
 * registered verifier, bound to a pending request of the kernel's own, does.
 * Entered digits travel only in the VERIFY request to the verifier's socket,
 * sealed with the code key the verifier gave through the character device
 * (%SAFELOCK_IOC_SET_CODE_KEY): never in the clear on netlink.
 *
 * Documentation/userspace-api/safelock.rst and
 * Documentation/netlink/specs/safelock.yaml describe both in full.
 */
#ifndef _UAPI_LINUX_SAFELOCK_H
#define _UAPI_LINUX_SAFELOCK_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * define SAFELOCK_ABI_VERSION - version of this interface, in &safelock_info
 */
#define SAFELOCK_ABI_VERSION		1

#define SAFELOCK_NAME_SIZE		32

/* Entry format: SAFELOCK_USER_ID_DIGITS digits of user id, then the code, then ENTER. */
#define SAFELOCK_USER_ID_DIGITS		3
#define SAFELOCK_CODE_MIN_DIGITS	6
#define SAFELOCK_CODE_MAX_DIGITS	12
#define SAFELOCK_NONCE_SIZE		16
/* The code key (%SAFELOCK_IOC_SET_CODE_KEY) and its BLAKE2s-256 hash. */
#define SAFELOCK_CODE_KEY_SIZE		32

/* Time lock: the weekly schedule, the holidays, the immediate time lock. */
#define SAFELOCK_TIME_LOCK_WEEK_SIZE	84	/* 7 days x 96 quarter hours, one bit each */
#define SAFELOCK_HOLIDAYS_MAX		32
#define SAFELOCK_UTC_OFFSET_MAX_S	50400	/* 14 h either way */
#define SAFELOCK_TIME_LOCK_MAX_S	604800	/* the immediate time lock: 7 days ahead */

/**
 * enum safelock_state - states of the lock state machine
 * @SAFELOCK_STATE_UNPROVISIONED: no owner enrolled yet; the lock cannot be
 *	secured and no code opens it
 * @SAFELOCK_STATE_LOCKED: bolt thrown, idle, waiting for a key
 * @SAFELOCK_STATE_ENTRY: a code is being typed
 * @SAFELOCK_STATE_VERIFYING: a VERIFY request is with the verifier
 * @SAFELOCK_STATE_UNLOCKED: bolt retracted; relocks after the relock delay
 * @SAFELOCK_STATE_PENALTY: the verifier denied an entry and asked for a
 *	pause (retry-after); the keypad is ignored until it ends, and a key
 *	pressed meanwhile does not extend it
 * @SAFELOCK_STATE_TIME_DELAY: a code (two with dual control) was accepted;
 *	the lock waits out the time delay before the open window.  CLEAR
 *	cancels it
 * @SAFELOCK_STATE_OPEN_WINDOW: the time delay is over: a code (two with dual
 *	control) entered before the window closes opens the lock
 * @SAFELOCK_STATE_DUAL_PENDING: dual control: one user's code was accepted;
 *	a different user's code must follow within the dual window; or one
 *	user's time-delay override waits for a second one
 * @SAFELOCK_STATE_TIME_LOCKED: bolt thrown during a locked period of the
 *	time lock (weekly schedule, holiday or immediate time lock); the keypad
 *	is ignored until the period ends, then the lock is LOCKED
 * @SAFELOCK_STATE_RELOCKING: the bolt is being thrown and the lock waits for
 *	the bolt sensor to confirm it (without a sensor: for the drive time);
 *	then LOCKED.  The door opening meanwhile stops it: the bolt is
 *	retracted again and the lock waits, UNLOCKED, for the door to close
 * @SAFELOCK_STATE_FAULT: the bolt did not reach its position after every
 *	retry (a jam), or the bolt sensor moved while nobody drove the bolt;
 *	see &enum safelock_fault.  The bolt is not driven and the keypad is
 *	ignored.  Only a relock confirmed by the sensor leaves it
 *	(%SAFELOCK_IOC_LOCK_NOW, or %SAFELOCK_CMD_FAULT_CLEAR from the verifier)
 * @SAFELOCK_STATE_MAX: number of states
 */
enum safelock_state {
	SAFELOCK_STATE_UNPROVISIONED = 0,
	SAFELOCK_STATE_LOCKED,
	SAFELOCK_STATE_ENTRY,
	SAFELOCK_STATE_VERIFYING,
	SAFELOCK_STATE_UNLOCKED,
	SAFELOCK_STATE_PENALTY,
	SAFELOCK_STATE_TIME_DELAY,
	SAFELOCK_STATE_OPEN_WINDOW,
	SAFELOCK_STATE_DUAL_PENDING,
	SAFELOCK_STATE_TIME_LOCKED,
	SAFELOCK_STATE_RELOCKING,
	SAFELOCK_STATE_FAULT,
	SAFELOCK_STATE_MAX,
};

/**
 * enum safelock_result - outcome of an attempt, in events and verdicts
 * @SAFELOCK_RESULT_NONE: not an attempt
 * @SAFELOCK_RESULT_GRANTED: the verifier accepted the code
 * @SAFELOCK_RESULT_DENIED: the verifier refused the code
 * @SAFELOCK_RESULT_NO_VERIFIER: no verifier was registered, or the registered
 *	one had not given its code key (%SAFELOCK_IOC_SET_CODE_KEY), or the
 *	request could not be sent: the entry went nowhere; nothing opened
 * @SAFELOCK_RESULT_TIMEOUT: the verifier did not answer before the deadline
 * @SAFELOCK_RESULT_MALFORMED: the entry did not have the documented format
 *	and was not sent to the verifier
 * @SAFELOCK_RESULT_CANCELLED: the entry was cleared, timed out between keys,
 *	was abandoned by %SAFELOCK_IOC_LOCK_NOW, or the verifier went away
 *	while the request was pending
 * @SAFELOCK_RESULT_NO_POLICY: the registered verifier had not yet set the
 *	lock's policy since it registered: the entry was not sent, no grant
 *	would have been accepted, nothing opened
 * @SAFELOCK_RESULT_MAX: number of results
 */
enum safelock_result {
	SAFELOCK_RESULT_NONE = 0,
	SAFELOCK_RESULT_GRANTED,
	SAFELOCK_RESULT_DENIED,
	SAFELOCK_RESULT_NO_VERIFIER,
	SAFELOCK_RESULT_TIMEOUT,
	SAFELOCK_RESULT_MALFORMED,
	SAFELOCK_RESULT_CANCELLED,
	SAFELOCK_RESULT_NO_POLICY,
	SAFELOCK_RESULT_MAX,
};

/**
 * enum safelock_override - what a grant may do for a time-delay override
 *	(&SAFELOCK_A_DELAY_OVERRIDE in a verdict)
 * @SAFELOCK_OVERRIDE_NONE: an ordinary grant
 * @SAFELOCK_OVERRIDE_MAY: the user may take part in an override; the grant
 *	also counts as an ordinary one (a manager)
 * @SAFELOCK_OVERRIDE_ONLY: the grant counts only as one of the two an
 *	override needs, never as an ordinary one (a courier)
 * @SAFELOCK_OVERRIDE_MAX: number of values
 */
enum safelock_override {
	SAFELOCK_OVERRIDE_NONE = 0,
	SAFELOCK_OVERRIDE_MAY,
	SAFELOCK_OVERRIDE_ONLY,
	SAFELOCK_OVERRIDE_MAX,
};

/**
 * enum safelock_event_type - what an event reports
 * @SAFELOCK_EVENT_STATE: the state machine changed state: @state the new one,
 *	&safelock_event.value the one before
 * @SAFELOCK_EVENT_ENTRY_STARTED: the first key of an entry was pressed
 *	(never which key)
 * @SAFELOCK_EVENT_ATTEMPT: an entry was completed; see @result
 * @SAFELOCK_EVENT_BOLT: the bolt was driven; see &safelock_event.value
 *	(1 towards retracted, 0 towards thrown).  One per drive, retries
 *	included; %SAFELOCK_EVENT_BOLT_CONFIRMED tells when it got there
 * @SAFELOCK_EVENT_DOOR: the door sensor changed; value 1 open, 0 closed
 * @SAFELOCK_EVENT_VERIFIER: the verifier registered (value 1) or went away (0)
 * @SAFELOCK_EVENT_DURESS: the verifier granted an entry as a duress entry:
 *	the lock opened normally and raised the silent alarm; see @user_id
 * @SAFELOCK_EVENT_TAMPER: the tamper switch changed; value 1 tampered, 0 not.
 *	Never a reason to open.
 * @SAFELOCK_EVENT_ALARM: the silent alarm output was raised (value 1) or
 *	dropped (0)
 * @SAFELOCK_EVENT_POLICY: the verifier changed the lock's policy
 * @SAFELOCK_EVENT_BATTERY: the low-battery input changed; value 1 low, 0 good.
 *	Never blocks opening with a valid code.
 * @SAFELOCK_EVENT_DOOR_AJAR: the door has stayed open longer than the
 *	policy's door limit; value: the limit in seconds
 * @SAFELOCK_EVENT_TIME_LOCK: a locked period of the time lock began (value 1)
 *	or ended (value 0).  A lock that is open when a period begins enters
 *	%SAFELOCK_STATE_TIME_LOCKED when it relocks.
 * @SAFELOCK_EVENT_CLOCK_JUMP: the wall clock (CLOCK_REALTIME) moved against
 *	CLOCK_BOOTTIME by more than 2 seconds; value: the jump in seconds, a
 *	signed 32-bit number (negative: the clock went back).  A jump never
 *	shortens a running locked period.
 * @SAFELOCK_EVENT_OVERRIDE: two users' override verdicts skipped the time
 *	delay and opened the lock; @user_id is the second user, value the first
 * @SAFELOCK_EVENT_BOLT_CONFIRMED: the bolt sensor confirmed a move of the
 *	bolt; value 1 retracted, 0 thrown.  Boards with a bolt sensor only:
 *	its timestamp less the %SAFELOCK_EVENT_BOLT one is the bolt's travel
 * @SAFELOCK_EVENT_FAULT: the lock entered %SAFELOCK_STATE_FAULT (or, during
 *	a penalty, will when it ends); value: &enum safelock_fault.  Value
 *	%SAFELOCK_FAULT_NONE: the fault was cleared by a confirmed relock
 * @SAFELOCK_EVENT_MAX: number of event types
 */
enum safelock_event_type {
	SAFELOCK_EVENT_STATE = 1,
	SAFELOCK_EVENT_ENTRY_STARTED,
	SAFELOCK_EVENT_ATTEMPT,
	SAFELOCK_EVENT_BOLT,
	SAFELOCK_EVENT_DOOR,
	SAFELOCK_EVENT_VERIFIER,
	SAFELOCK_EVENT_DURESS,
	SAFELOCK_EVENT_TAMPER,
	SAFELOCK_EVENT_ALARM,
	SAFELOCK_EVENT_POLICY,
	SAFELOCK_EVENT_BATTERY,
	SAFELOCK_EVENT_DOOR_AJAR,
	SAFELOCK_EVENT_TIME_LOCK,
	SAFELOCK_EVENT_CLOCK_JUMP,
	SAFELOCK_EVENT_OVERRIDE,
	SAFELOCK_EVENT_BOLT_CONFIRMED,
	SAFELOCK_EVENT_FAULT,
	SAFELOCK_EVENT_MAX,
};

/**
 * enum safelock_fault - why a lock is in %SAFELOCK_STATE_FAULT
 * @SAFELOCK_FAULT_NONE: no fault; in a %SAFELOCK_EVENT_FAULT event, the
 *	fault was cleared
 * @SAFELOCK_FAULT_JAM_OPEN: the bolt sensor did not confirm the bolt
 *	retracted within the confirm time, after every retry.  The lock did
 *	not report UNLOCKED
 * @SAFELOCK_FAULT_JAM_CLOSE: the bolt sensor did not confirm the bolt
 *	thrown within the confirm time, after every retry.  The lock did not
 *	report LOCKED
 * @SAFELOCK_FAULT_SENSOR: the bolt sensor changed while nobody drove the
 *	bolt (the bolt forced, or a failing sensor); also raises the silent
 *	alarm, as tampering does
 * @SAFELOCK_FAULT_MAX: number of values
 */
enum safelock_fault {
	SAFELOCK_FAULT_NONE = 0,
	SAFELOCK_FAULT_JAM_OPEN,
	SAFELOCK_FAULT_JAM_CLOSE,
	SAFELOCK_FAULT_SENSOR,
	SAFELOCK_FAULT_MAX,
};

/*
 * Lines present, in &safelock_info.lines.  SAFELOCK_LINE_BOLT is always set
 * (the lock has a bolt actuator); SAFELOCK_LINE_BOLT_MOTOR says it is a motor
 * (two lines) rather than a solenoid (one); SAFELOCK_LINE_BOLT_SENSOR that a
 * sensor reports the bolt's position.
 */
#define SAFELOCK_LINE_BOLT		_BITUL(0)
#define SAFELOCK_LINE_DOOR		_BITUL(1)
#define SAFELOCK_LINE_KEYPAD		_BITUL(2)
#define SAFELOCK_LINE_ALARM		_BITUL(3)
#define SAFELOCK_LINE_TAMPER		_BITUL(4)
#define SAFELOCK_LINE_BATTERY		_BITUL(5)
#define SAFELOCK_LINE_FEEDBACK		_BITUL(6)
#define SAFELOCK_LINE_BOLT_SENSOR	_BITUL(7)
#define SAFELOCK_LINE_BOLT_MOTOR	_BITUL(8)

/*
 * What the driver and this board can do, in &safelock_info.caps: the
 * driver's features (penalty mirror, time delay and open window, dual
 * control, duress, the time lock with its weekly schedule, holidays and
 * immediate time lock, the two-person time-delay override),
 * SAFELOCK_CMD_FAULT_CLEAR, and what the bolt's hardware
 * allows: moves confirmed by a sensor (jam detection, FAULT), a motor.
 */
#define SAFELOCK_CAP_PENALTY		_BITUL(0)
#define SAFELOCK_CAP_TIME_DELAY		_BITUL(1)
#define SAFELOCK_CAP_DUAL_CONTROL	_BITUL(2)
#define SAFELOCK_CAP_DURESS		_BITUL(3)
#define SAFELOCK_CAP_FAULT_CLEAR	_BITUL(4)
#define SAFELOCK_CAP_BOLT_SENSOR	_BITUL(5)
#define SAFELOCK_CAP_BOLT_MOTOR		_BITUL(6)
#define SAFELOCK_CAP_TIME_LOCK		_BITUL(7)
#define SAFELOCK_CAP_OVERRIDE		_BITUL(8)

/**
 * enum safelock_vault - what the verifier says of its vault
 *	(&SAFELOCK_A_PROVISIONED)
 * @SAFELOCK_VAULT_EMPTY: no owner is enrolled (a new lock, or one its owner
 *	wiped with the door open)
 * @SAFELOCK_VAULT_OWNED: an owner is enrolled and the vault can be read
 * @SAFELOCK_VAULT_DAMAGED: the vault cannot be read or does not match the
 *	TPM's record of it: an owner exists but no code can be checked.  The
 *	lock stays secured and is never treated as new
 * @SAFELOCK_VAULT_MAX: number of values
 */
enum safelock_vault {
	SAFELOCK_VAULT_EMPTY = 0,
	SAFELOCK_VAULT_OWNED,
	SAFELOCK_VAULT_DAMAGED,
	SAFELOCK_VAULT_MAX,
};

/* Flags in &safelock_status.flags */
#define SAFELOCK_STATUS_VERIFIER	_BITUL(0)
#define SAFELOCK_STATUS_BOLT_OPEN	_BITUL(1)
#define SAFELOCK_STATUS_DOOR_OPEN	_BITUL(2)
#define SAFELOCK_STATUS_KEYPAD		_BITUL(3)
#define SAFELOCK_STATUS_ALARM		_BITUL(4)
#define SAFELOCK_STATUS_TAMPER		_BITUL(5)
#define SAFELOCK_STATUS_BATTERY_LOW	_BITUL(6)
/* The bolt sensor reports the bolt retracted (boards with a bolt sensor). */
#define SAFELOCK_STATUS_BOLT_SENSOR_OPEN	_BITUL(7)
/*
 * The registered verifier has set this lock's policy since it registered;
 * until then no entry is sent and no grant is accepted.
 */
#define SAFELOCK_STATUS_POLICY		_BITUL(8)
/* The verifier reports its vault damaged (%SAFELOCK_VAULT_DAMAGED). */
#define SAFELOCK_STATUS_VAULT_DAMAGED	_BITUL(9)

/**
 * struct safelock_info - what a lock is and has
 * @abi_version: %SAFELOCK_ABI_VERSION of the driver
 * @index: N of /dev/safelockN, also the device index in netlink messages
 * @lines: SAFELOCK_LINE_* of the lines this board has
 * @relock_ms: time the bolt stays retracted after opening (the policy's)
 * @verify_timeout_ms: time the verifier has to answer a request
 * @entry_timeout_ms: longest pause between two keys of one entry
 * @name: NUL-terminated name of the device
 * @alarm_ms: how long the silent alarm output stays raised
 * @caps: SAFELOCK_CAP_* of what this driver and board can do
 * @padding: reserved, zero
 */
struct safelock_info {
	__u32 abi_version;
	__u32 index;
	__u32 lines;
	__u32 relock_ms;
	__u32 verify_timeout_ms;
	__u32 entry_timeout_ms;
	char name[SAFELOCK_NAME_SIZE];
	__u32 alarm_ms;
	__u32 caps;
	__u32 padding[6];
};

/**
 * struct safelock_status - the lock's state now
 * @state: &enum safelock_state
 * @flags: SAFELOCK_STATUS_* flags
 * @last_seq: sequence number of the last event emitted (0: none yet)
 * @penalty_ms: in %SAFELOCK_STATE_PENALTY, the milliseconds left; else 0
 * @timer_ms: in %SAFELOCK_STATE_TIME_DELAY, %SAFELOCK_STATE_OPEN_WINDOW,
 *	%SAFELOCK_STATE_DUAL_PENDING or %SAFELOCK_STATE_TIME_LOCKED, the
 *	milliseconds left of it; else 0
 * @padding: reserved, zero
 */
struct safelock_status {
	__u32 state;
	__u32 flags;
	__aligned_u64 last_seq;
	__u32 penalty_ms;
	__u32 timer_ms;
	__u32 padding[4];
};

/**
 * struct safelock_event - one record read from /dev/safelockN
 * @timestamp_ns: CLOCK_MONOTONIC time of the event, in nanoseconds
 * @seq: sequence number, per device, starting at 1 and without holes; a
 *	reader that sees a jump has lost the events in between (queue full)
 * @request_id: the entry an attempt or "entry started" belongs to (the id
 *	of its VERIFY request, if it got that far), or 0
 * @type: &enum safelock_event_type
 * @state: &enum safelock_state after the event
 * @result: &enum safelock_result for %SAFELOCK_EVENT_ATTEMPT, else 0
 * @user_id: user id typed with the attempt (never the code), or 0
 * @value: type-dependent value (bolt, door, verifier; for a denied attempt,
 *	the retry-after in milliseconds the verifier asked for)
 * @padding: reserved, zero
 *
 * Each read() returns a whole number of records.
 */
struct safelock_event {
	__aligned_u64 timestamp_ns;
	__aligned_u64 seq;
	__aligned_u64 request_id;
	__u32 type;
	__u32 state;
	__u32 result;
	__u32 user_id;
	__u32 value;
	__u32 padding[5];
};

/**
 * struct safelock_code_key - the registered verifier's code key
 * @key: the key; its unkeyed BLAKE2s-256 hash is the
 *	%SAFELOCK_A_CODE_KEY_HASH the verifier registered with
 * @padding: reserved, zero
 *
 * Given with %SAFELOCK_IOC_SET_CODE_KEY on any /dev/safelockN, after the
 * verifier registered.  Every VERIFY to that registration then carries the
 * code sealed with it (%SAFELOCK_A_CODE_SEALED).  The key travels only
 * through this ioctl, which no netlink tap sees; netlink carries only its
 * hash.
 */
struct safelock_code_key {
	__u8 key[SAFELOCK_CODE_KEY_SIZE];
	__u32 padding[8];
};

#define SAFELOCK_IOC_MAGIC	0xB7

/* Fill a &struct safelock_info. */
#define SAFELOCK_IOC_GET_INFO	_IOR(SAFELOCK_IOC_MAGIC, 0x01, struct safelock_info)
/* Fill a &struct safelock_status. */
#define SAFELOCK_IOC_GET_STATE	_IOR(SAFELOCK_IOC_MAGIC, 0x02, struct safelock_status)
/* Throw the bolt now and abandon any entry or request. Never opens. */
#define SAFELOCK_IOC_LOCK_NOW	_IO(SAFELOCK_IOC_MAGIC, 0x03)
/*
 * Give the registered verifier's code key, a &struct safelock_code_key.
 * Accepted only if its BLAKE2s-256 hash is the %SAFELOCK_A_CODE_KEY_HASH of
 * the registration in force (-EPERM otherwise, -ENOTCONN with no verifier
 * registered, -EINVAL if the padding is not zero).  Setting the same key
 * again changes nothing.  The key ends with the registration.
 */
#define SAFELOCK_IOC_SET_CODE_KEY	_IOW(SAFELOCK_IOC_MAGIC, 0x04, struct safelock_code_key)

/* Generic netlink */
#define SAFELOCK_GENL_NAME		"safelock"
#define SAFELOCK_GENL_VERSION		1
#define SAFELOCK_GENL_MCGRP_EVENTS	"events"

/**
 * enum safelock_attrs - generic netlink attributes
 * @SAFELOCK_A_UNSPEC: unused
 * @SAFELOCK_A_DEVICE: u32, index of the lock (N of /dev/safelockN)
 * @SAFELOCK_A_REQUEST_ID: u64, the kernel's id of a verification request
 * @SAFELOCK_A_NONCE: binary, %SAFELOCK_NONCE_SIZE random bytes of the request
 * @SAFELOCK_A_DEADLINE_NS: u64, CLOCK_MONOTONIC time after which a verdict
 *	is refused
 * @SAFELOCK_A_USER_ID: u32, user id typed with the entry
 * @SAFELOCK_A_CODE: binary, the code's ASCII digits in the clear.  Never sent
 *	any more (VERIFY carries %SAFELOCK_A_CODE_SEALED); kept so that the
 *	numbers do not move
 * @SAFELOCK_A_RESULT: u32, &enum safelock_result
 * @SAFELOCK_A_PROVISIONED: u8, &enum safelock_vault: the verifier's vault is
 *	empty, owned or damaged
 * @SAFELOCK_A_STATE: u32, &enum safelock_state
 * @SAFELOCK_A_FLAGS: u32, SAFELOCK_STATUS_* flags
 * @SAFELOCK_A_SEQ: u64, event sequence number
 * @SAFELOCK_A_TIMESTAMP_NS: u64, CLOCK_MONOTONIC time of an event
 * @SAFELOCK_A_EVENT: u32, &enum safelock_event_type
 * @SAFELOCK_A_VALUE: u32, event value
 * @SAFELOCK_A_PAD: padding for 64-bit attributes
 * @SAFELOCK_A_RETRY_AFTER_MS: u32, in a DENIED verdict: how long the keypad
 *	stays quiet (%SAFELOCK_STATE_PENALTY); 0 or absent for none
 * @SAFELOCK_A_DURESS: u8, in a GRANTED verdict: 1 if the entry was a duress
 *	entry: open as usual, raise the silent alarm
 * @SAFELOCK_A_TIME_DELAY_S: u32, policy: seconds between an accepted code and
 *	the open window, 0 (none) to 7200
 * @SAFELOCK_A_OPEN_WINDOW_S: u32, policy: seconds the open window lasts,
 *	60 to 1800
 * @SAFELOCK_A_DUAL_CONTROL: u8, policy: 1 if opening needs the codes of two
 *	different users
 * @SAFELOCK_A_DUAL_WINDOW_S: u32, policy: seconds within which the second
 *	user's code must follow the first, 10 to 300
 * @SAFELOCK_A_RELOCK_MS: u32, policy: milliseconds the bolt stays retracted
 *	after opening, 500 to 600000 (the board's relock-ms until set)
 * @SAFELOCK_A_DOOR_LIMIT_S: u32, policy: seconds the door may stay open
 *	before a DOOR_AJAR event, 5 to 3600, or 0 for never; default 300
 * @SAFELOCK_A_TIME_LOCK: u8, policy: 1 if the weekly schedule and the
 *	holidays apply; default 0
 * @SAFELOCK_A_TIME_LOCK_WEEK: binary, policy: exactly
 *	%SAFELOCK_TIME_LOCK_WEEK_SIZE bytes; bit (day * 96 + quarter) set means
 *	locked during that quarter hour of local time, day 0 Sunday (as
 *	tm_wday), quarter 0 00:00-00:15; bit n is bit (n % 8), the least
 *	significant first, of byte n / 8; default all clear
 * @SAFELOCK_A_HOLIDAYS: binary, policy: 0 to %SAFELOCK_HOLIDAYS_MAX u32 in
 *	host order, each a day (days since 1970-01-01, local time) locked all
 *	day; default none
 * @SAFELOCK_A_UTC_OFFSET_S: s32, policy: local time minus UTC in seconds,
 *	-%SAFELOCK_UTC_OFFSET_MAX_S to %SAFELOCK_UTC_OFFSET_MAX_S; the kernel
 *	keeps no time zone: the verifier sets it again when it changes (DST);
 *	default 0
 * @SAFELOCK_A_TIME_LOCK_UNTIL: u64, policy: immediate time lock until this
 *	CLOCK_REALTIME second; at most %SAFELOCK_TIME_LOCK_MAX_S ahead; while
 *	one is in force it may be extended, never shortened or lifted; default 0
 * @SAFELOCK_A_OVERRIDE: u8, policy: 1 if two users' override verdicts may
 *	skip the time delay; default 0
 * @SAFELOCK_A_DELAY_OVERRIDE: u8, in a GRANTED verdict: &enum
 *	safelock_override, what the grant may do for a time-delay override
 * @SAFELOCK_A_TIME_LOCK_FOR_S: u32, policy: an immediate time lock from now
 *	for this many seconds (1 to %SAFELOCK_TIME_LOCK_MAX_S), timed by the
 *	kernel's own clock; extends one in force, never shortens it; not with
 *	%SAFELOCK_A_TIME_LOCK_UNTIL.  POLICY_GET reports the end it gives as
 *	%SAFELOCK_A_TIME_LOCK_UNTIL
 * @SAFELOCK_A_CODE_KEY_HASH: binary, %SAFELOCK_CODE_KEY_SIZE bytes, in
 *	VERIFIER_REGISTER: the unkeyed BLAKE2s-256 hash of the code key the
 *	verifier will give through %SAFELOCK_IOC_SET_CODE_KEY
 * @SAFELOCK_A_CODE_SEALED: binary, in VERIFY: the code's ASCII digits XOR
 *	the first as many bytes of BLAKE2s-256 keyed with the code key over
 *	the request's nonce followed by its request id as a little-endian
 *	u64 (24 bytes); as long as the code
 * @__SAFELOCK_A_MAX: number of attributes
 * @SAFELOCK_A_MAX: highest attribute
 */
enum safelock_attrs {
	SAFELOCK_A_UNSPEC,
	SAFELOCK_A_DEVICE,
	SAFELOCK_A_REQUEST_ID,
	SAFELOCK_A_NONCE,
	SAFELOCK_A_DEADLINE_NS,
	SAFELOCK_A_USER_ID,
	SAFELOCK_A_CODE,
	SAFELOCK_A_RESULT,
	SAFELOCK_A_PROVISIONED,
	SAFELOCK_A_STATE,
	SAFELOCK_A_FLAGS,
	SAFELOCK_A_SEQ,
	SAFELOCK_A_TIMESTAMP_NS,
	SAFELOCK_A_EVENT,
	SAFELOCK_A_VALUE,
	SAFELOCK_A_PAD,
	SAFELOCK_A_RETRY_AFTER_MS,
	SAFELOCK_A_DURESS,
	SAFELOCK_A_TIME_DELAY_S,
	SAFELOCK_A_OPEN_WINDOW_S,
	SAFELOCK_A_DUAL_CONTROL,
	SAFELOCK_A_DUAL_WINDOW_S,
	SAFELOCK_A_RELOCK_MS,
	SAFELOCK_A_DOOR_LIMIT_S,
	SAFELOCK_A_TIME_LOCK,
	SAFELOCK_A_TIME_LOCK_WEEK,
	SAFELOCK_A_HOLIDAYS,
	SAFELOCK_A_UTC_OFFSET_S,
	SAFELOCK_A_TIME_LOCK_UNTIL,
	SAFELOCK_A_OVERRIDE,
	SAFELOCK_A_DELAY_OVERRIDE,
	SAFELOCK_A_TIME_LOCK_FOR_S,
	SAFELOCK_A_CODE_KEY_HASH,
	SAFELOCK_A_CODE_SEALED,

	__SAFELOCK_A_MAX,
	SAFELOCK_A_MAX = __SAFELOCK_A_MAX - 1
};

/**
 * enum safelock_cmds - generic netlink commands
 * @SAFELOCK_CMD_UNSPEC: unused
 * @SAFELOCK_CMD_VERIFIER_REGISTER: (verifier, CAP_NET_ADMIN) become the one
 *	verifier with %SAFELOCK_A_CODE_KEY_HASH (required for a new
 *	registration), optional %SAFELOCK_A_PROVISIONED (&enum
 *	safelock_vault).  Dropped when the socket closes.  Sent again from the
 *	same socket it updates PROVISIONED, and CODE_KEY_HASH if given (a
 *	different hash drops the code key set before): %SAFELOCK_VAULT_EMPTY after the lock was
 *	provisioned (the vault was wiped) makes the lock
 *	%SAFELOCK_STATE_UNPROVISIONED again, its bolt not moved, and only with
 *	the door open (-EBUSY otherwise); %SAFELOCK_VAULT_DAMAGED keeps it
 *	secured; no PROVISIONED changes nothing.  Every registration, and the
 *	socket's closing, ends any pending request: a verdict answers only a
 *	request sent to the registration it comes from.
 * @SAFELOCK_CMD_VERIFY: (kernel to verifier) check DEVICE, REQUEST_ID, NONCE,
 *	DEADLINE_NS, USER_ID, CODE_SEALED.  Sent only once the registration's
 *	code key is set (%SAFELOCK_IOC_SET_CODE_KEY); without it the entry ends
 *	with %SAFELOCK_RESULT_NO_VERIFIER and nothing is sent
 * @SAFELOCK_CMD_VERDICT: (verifier, CAP_NET_ADMIN) answer DEVICE,
 *	REQUEST_ID, NONCE with RESULT (GRANTED or DENIED) and, with DENIED,
 *	optionally RETRY_AFTER_MS, with GRANTED, optionally DURESS and
 *	DELAY_OVERRIDE; accepted
 *	once, from the registered verifier's socket, before the deadline
 * @SAFELOCK_CMD_STATUS_GET: (anyone) DEVICE; replies with DEVICE, STATE,
 *	FLAGS, SEQ; without DEVICE, a dump of every lock.  The ALARM and
 *	TAMPER flags only to a caller with CAP_NET_ADMIN
 * @SAFELOCK_CMD_EVENT: (kernel, multicast "events", CAP_NET_ADMIN) DEVICE,
 *	SEQ, TIMESTAMP_NS, EVENT, STATE, RESULT, USER_ID, REQUEST_ID, VALUE
 * @SAFELOCK_CMD_ENTRY_BEGIN: (kernel to verifier) DEVICE, REQUEST_ID: the
 *	first key of an entry was pressed; the VERIFY for this entry, if it
 *	comes, carries the same REQUEST_ID.  Never carries a digit.  Lets the
 *	verifier prepare while the person types; nothing may depend on it.
 * @SAFELOCK_CMD_POLICY_SET: (verifier, CAP_NET_ADMIN) DEVICE and any of
 *	TIME_DELAY_S, OPEN_WINDOW_S, DUAL_CONTROL, DUAL_WINDOW_S, RELOCK_MS,
 *	DOOR_LIMIT_S, TIME_LOCK, TIME_LOCK_WEEK, HOLIDAYS, UTC_OFFSET_S,
 *	TIME_LOCK_UNTIL, OVERRIDE, TIME_LOCK_FOR_S; all or nothing; the
 *	opening policy applies from the next accepted code, the time lock at
 *	once.  Until the first one since the verifier registered, the lock
 *	sends no VERIFY and accepts no grant (%SAFELOCK_STATUS_POLICY)
 * @SAFELOCK_CMD_POLICY_GET: (CAP_NET_ADMIN) DEVICE; replies with DEVICE and
 *	every policy attribute
 * @SAFELOCK_CMD_FAULT_CLEAR: (verifier, CAP_NET_ADMIN) DEVICE: a lock in
 *	%SAFELOCK_STATE_FAULT throws its bolt (RELOCKING) and becomes LOCKED
 *	when the sensor confirms it, which clears the fault.  Refused when
 *	there is no fault, during a penalty, with the door open, or while
 *	that relock is under way.  Never opens anything
 * @SAFELOCK_CMD_DURESS_ALARM: (verifier, CAP_NET_ADMIN) DEVICE, USER_ID: a
 *	duress code was used where nothing opens (administration): raise the
 *	silent alarm and report %SAFELOCK_EVENT_DURESS; never moves the bolt
 * @SAFELOCK_CMD_ENTRY_USER: (kernel to verifier) DEVICE, REQUEST_ID,
 *	USER_ID: the entry announced by ENTRY_BEGIN with this REQUEST_ID has
 *	its %SAFELOCK_USER_ID_DIGITS user id digits (a user id of 0 is not
 *	announced).  Never carries a digit of the code.  Lets the verifier
 *	count the try and load the user's sealed code before ENTER; the
 *	VERIFY, if it comes, carries the user id again, and nothing may
 *	depend on this notice
 * @SAFELOCK_CMD_CLOCK_SET: (verifier, CAP_NET_ADMIN) optionally DEVICE
 *	(without it, every lock): the wall clock (CLOCK_REALTIME) was set.  The
 *	lock reads its clocks at once, reports %SAFELOCK_EVENT_CLOCK_JUMP if
 *	they moved apart, begins a locked period the clock now falls in, and
 *	times its next time lock boundary on the clock as it now reads.  The
 *	kernel tells modules nothing of a clock set and reads the clocks only
 *	at boundaries and before each step that could open; without this
 *	command a jump is reported at the next such reading.  Never opens
 *	anything and never ends a locked period
 * @__SAFELOCK_CMD_MAX: number of commands
 * @SAFELOCK_CMD_MAX: highest command
 */
enum safelock_cmds {
	SAFELOCK_CMD_UNSPEC,
	SAFELOCK_CMD_VERIFIER_REGISTER,
	SAFELOCK_CMD_VERIFY,
	SAFELOCK_CMD_VERDICT,
	SAFELOCK_CMD_STATUS_GET,
	SAFELOCK_CMD_EVENT,
	SAFELOCK_CMD_ENTRY_BEGIN,
	SAFELOCK_CMD_POLICY_SET,
	SAFELOCK_CMD_POLICY_GET,
	SAFELOCK_CMD_FAULT_CLEAR,
	SAFELOCK_CMD_DURESS_ALARM,
	SAFELOCK_CMD_ENTRY_USER,
	SAFELOCK_CMD_CLOCK_SET,

	__SAFELOCK_CMD_MAX,
	SAFELOCK_CMD_MAX = __SAFELOCK_CMD_MAX - 1
};

#endif /* _UAPI_LINUX_SAFELOCK_H */
