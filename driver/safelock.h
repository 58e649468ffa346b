/* SPDX-License-Identifier: GPL-2.0 */
/*
 * safelock: the driver's internal interfaces.
 *
 * Data flows one way: keypad.c -> fsm.c -> netlink.c -> (safelockd) ->
 * netlink.c -> fsm.c -> actuator.c.  fsm.c decides; the other files
 * translate between it and the world.  core.c owns struct safelock and
 * applies what the state machine asks for.
 */
#ifndef _SAFELOCK_H
#define _SAFELOCK_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/hrtimer.h>
#include <linux/input.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/netlink.h>
#include <linux/spinlock.h>
#include <linux/time64.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <linux/safelock.h>

#define SAFELOCK_MAX_DEVICES	16
#define SAFELOCK_ENTRY_MAX	(SAFELOCK_USER_ID_DIGITS + SAFELOCK_CODE_MAX_DIGITS)
#define SAFELOCK_USER_ID_MAX	999	/* SAFELOCK_USER_ID_DIGITS digits */
#define SAFELOCK_KEYQ_SIZE	32
#define SAFELOCK_EVQ_SIZE	64
#define SAFELOCK_FEEDBACK_MS	40	/* one key-press pulse on the feedback line */

/* Keys as the state machine sees them: '0'..'9' or one of these. */
#define SAFELOCK_KEY_ENTER	'E'
#define SAFELOCK_KEY_CLEAR	'C'
/* Queued, never given to the state machine: the keypad went away. */
#define SAFELOCK_KEY_GONE	'G'

/* What the state machine asks core.c to do, in safelock_fsm_out.actions. */
#define SAFELOCK_ACT_ENTRY_TIMER	BIT(0)	/* (re)start the inter-key timer */
#define SAFELOCK_ACT_ENTRY_STOP		BIT(1)	/* stop the inter-key timer */
#define SAFELOCK_ACT_VERIFY		BIT(2)	/* send a VERIFY for out->code */
#define SAFELOCK_ACT_REQUEST_END	BIT(3)	/* the pending request is over */
#define SAFELOCK_ACT_BOLT_OPEN		BIT(4)	/* retract the bolt */
#define SAFELOCK_ACT_BOLT_CLOSE		BIT(5)	/* throw the bolt */
#define SAFELOCK_ACT_RELOCK_TIMER	BIT(6)	/* start the relock timer */
#define SAFELOCK_ACT_RELOCK_STOP	BIT(7)	/* stop the relock timer */
#define SAFELOCK_ACT_EV_ENTRY		BIT(8)	/* report "entry started" */
#define SAFELOCK_ACT_EV_ATTEMPT		BIT(9)	/* report the attempt's result */
#define SAFELOCK_ACT_PENALTY_TIMER	BIT(10)	/* start the penalty timer */
#define SAFELOCK_ACT_DURESS		BIT(11)	/* report duress, raise the alarm */
#define SAFELOCK_ACT_DELAY_TIMER	BIT(12)	/* start the time delay */
#define SAFELOCK_ACT_WINDOW_TIMER	BIT(13)	/* start the open window */
#define SAFELOCK_ACT_PHASE_STOP		BIT(14)	/* stop the delay/window timer */
#define SAFELOCK_ACT_DUAL_TIMER		BIT(15)	/* start the dual-control window */
#define SAFELOCK_ACT_DUAL_STOP		BIT(16)	/* stop it */
/* Time lock and override: from the top bit down, clear of the others. */
#define SAFELOCK_ACT_TLOCK_BEGIN	BIT(31)	/* report: a locked period began */
#define SAFELOCK_ACT_TLOCK_END		BIT(30)	/* report: it ended */
#define SAFELOCK_ACT_CLOCK_JUMP		BIT(29)	/* report out->clock_jump_s */
#define SAFELOCK_ACT_OVERRIDE		BIT(28)	/* report: two overrides opened */

#define SAFELOCK_CLOCK_JUMP_NS		(2LL * NSEC_PER_SEC)	/* more is a jump */
/* With no door limit set, the door may hold the bolt retracted this long. */
#define SAFELOCK_DOOR_HOLD_MAX_S	3600
#define SAFELOCK_ACT_BOLT_STOP		BIT(17)	/* abandon the move: stop driving */
#define SAFELOCK_ACT_BOLT_WATCH		BIT(18)	/* (re)start waiting for the move's end */
#define SAFELOCK_ACT_BOLT_UNWATCH	BIT(19)	/* stop waiting for it */
#define SAFELOCK_ACT_BOLT_DONE		BIT(20)	/* the move to out->bolt_open ended */
#define SAFELOCK_ACT_FAULT		BIT(21)	/* report out->fault (NONE: cleared) */
#define SAFELOCK_ACT_ENTRY_USER		BIT(22)	/* the entry's user id is typed: out->user_id */

/**
 * enum safelock_bolt_move - a move of the bolt the state machine waits for
 * @SAFELOCK_BOLT_IDLE: none
 * @SAFELOCK_BOLT_OPENING: towards retracted, until the sensor confirms it
 * @SAFELOCK_BOLT_CLOSING: towards thrown, until the sensor confirms it (or,
 *	without a sensor, for the drive time)
 */
enum safelock_bolt_move {
	SAFELOCK_BOLT_IDLE,
	SAFELOCK_BOLT_OPENING,
	SAFELOCK_BOLT_CLOSING,
};

/**
 * enum safelock_bolt_cmd - where the actuator last drove the bolt
 * @SAFELOCK_BOLT_CMD_CLOSED: towards thrown (a solenoid at rest, too)
 * @SAFELOCK_BOLT_CMD_OPEN: towards retracted
 * @SAFELOCK_BOLT_CMD_STOPPED: a motor stopped mid-move: position unknown
 */
enum safelock_bolt_cmd {
	SAFELOCK_BOLT_CMD_CLOSED,
	SAFELOCK_BOLT_CMD_OPEN,
	SAFELOCK_BOLT_CMD_STOPPED,
};

/**
 * struct safelock_policy - what the verifier has configured for opening
 * @time_delay_s: seconds from an accepted authorisation to the open window
 * @open_window_s: seconds the open window lasts
 * @dual_window_s: seconds for the second user's code under dual control
 * @dual_control: opening needs the codes of two different users
 * @relock_ms: how long the bolt stays retracted after opening
 * @door_limit_s: seconds the door may stay open before an event; 0 never
 * @time_lock: the weekly schedule and the holidays apply
 * @override: two users' override verdicts may skip the time delay
 * @utc_offset_s: local time minus UTC, in seconds
 * @n_holidays: number of valid entries in @holidays
 * @time_lock_until_s: immediate time lock until this CLOCK_REALTIME second
 * @week: bit (day * 96 + quarter) set: locked then (local time, day 0 Sunday)
 * @holidays: days since 1970-01-01 (local time) locked all day
 */
struct safelock_policy {
	u32 relock_ms;
	u32 door_limit_s;
	u32 time_delay_s;
	u32 open_window_s;
	u32 dual_window_s;
	bool dual_control;
	bool time_lock;
	bool override;
	s32 utc_offset_s;
	u32 n_holidays;
	u64 time_lock_until_s;
	u8 week[SAFELOCK_TIME_LOCK_WEEK_SIZE];
	u32 holidays[SAFELOCK_HOLIDAYS_MAX];
};

/**
 * struct safelock_fsm - the lock state machine; pure logic, no locking
 * @state: current &enum safelock_state
 * @provisioned: a verifier has said its vault has an owner
 * @verifier: a verifier is registered
 * @policy_landed: the registered verifier has set the policy since it
 *	registered: only then is an entry sent, and a grant accepted
 * @vault_damaged: the verifier says its vault is damaged
 * @entry: digits typed so far (wiped when the entry ends)
 * @entry_len: number of valid bytes in @entry
 * @entry_overflow: more keys were typed than an entry can hold
 * @door_open: the door sensor's last reported state (false without one)
 * @door_opened: the door was opened since the bolt was last retracted
 * @policy: time delay, open window and dual control
 * @window: the open window is open: the next authorisation opens
 * @dual_first: under dual control, the user whose code came first, or 0
 * @pending_user: user id of the entry with the verifier
 * @dual_ovr: what @dual_first's grant may do for an override (&enum
 *	safelock_override); meaningful only while @dual_first is set
 * @tl_active: a locked period of the time lock is running
 * @tl_until_ns: CLOCK_BOOTTIME end of the running locked period
 * @imm_until_ns: CLOCK_BOOTTIME end of the immediate time lock, as set
 * @clock_known: @clock_offset_ns holds a reading
 * @clock_offset_ns: CLOCK_REALTIME minus CLOCK_BOOTTIME at the last reading
 * @bolt_sensor: the board has a bolt sensor that confirms each move
 * @bolt_retries: drives after the first before a move is a jam
 * @bolt_move: the move being waited for
 * @bolt_tries: retries of @bolt_move so far
 * @bolt_secure: the bolt is known to be thrown (confirmed, or never moved)
 * @fault: the lock's fault; set in FAULT, and in PENALTY while one waits
 */
struct safelock_fsm {
	enum safelock_state state;
	bool provisioned;
	bool verifier;
	bool policy_landed;
	bool vault_damaged;
	u8 entry[SAFELOCK_ENTRY_MAX];
	unsigned int entry_len;
	bool entry_overflow;
	bool door_open;
	bool door_opened;
	struct safelock_policy policy;
	bool window;
	u32 dual_first;
	u32 pending_user;
	u8 dual_ovr;
	bool tl_active;
	u64 tl_until_ns;
	u64 imm_until_ns;
	bool clock_known;
	s64 clock_offset_ns;
	bool bolt_sensor;
	u32 bolt_retries;
	enum safelock_bolt_move bolt_move;
	u32 bolt_tries;
	bool bolt_secure;
	enum safelock_fault fault;
};

/**
 * struct safelock_fsm_out - what one step of the state machine asks for
 * @actions: SAFELOCK_ACT_* bits
 * @result: result of the attempt for %SAFELOCK_ACT_EV_ATTEMPT
 * @user_id: user id of the entry (also for %SAFELOCK_ACT_ENTRY_USER)
 * @code: the code's digits for %SAFELOCK_ACT_VERIFY; the caller wipes it
 * @code_len: number of digits in @code
 * @retry_after_ms: length of the penalty for %SAFELOCK_ACT_PENALTY_TIMER
 * @clock_jump_s: the jump for %SAFELOCK_ACT_CLOCK_JUMP, seconds (< 0: back)
 * @override_first: the first user of an override, for %SAFELOCK_ACT_OVERRIDE
 * @fault: the fault for %SAFELOCK_ACT_FAULT
 * @bolt_open: where the bolt got to, for %SAFELOCK_ACT_BOLT_DONE
 */
struct safelock_fsm_out {
	u32 actions;
	enum safelock_result result;
	u32 user_id;
	u8 code[SAFELOCK_CODE_MAX_DIGITS];
	unsigned int code_len;
	u32 retry_after_ms;
	s32 clock_jump_s;
	u32 override_first;
	enum safelock_fault fault;
	bool bolt_open;
};

/**
 * struct safelock_clock_next - when the time lock next needs the clocks read
 * @boot_ns: CLOCK_BOOTTIME end of the running locked period, or U64_MAX
 * @real_ns: CLOCK_REALTIME beginning of the next locked period, or U64_MAX
 */
struct safelock_clock_next {
	u64 boot_ns;
	u64 real_ns;
};

void safelock_fsm_init(struct safelock_fsm *fsm);
void safelock_fsm_wipe(struct safelock_fsm *fsm);
void safelock_fsm_key(struct safelock_fsm *fsm, u8 key, struct safelock_fsm_out *out);
void safelock_fsm_entry_timeout(struct safelock_fsm *fsm, struct safelock_fsm_out *out);
void safelock_fsm_verifier(struct safelock_fsm *fsm, bool present, int vault,
			   bool new_verifier, struct safelock_fsm_out *out);
void safelock_fsm_verify_failed(struct safelock_fsm *fsm, enum safelock_result result,
				struct safelock_fsm_out *out);
void safelock_fsm_verdict(struct safelock_fsm *fsm, enum safelock_result result,
			  u32 retry_after_ms, bool duress, struct safelock_fsm_out *out);
void safelock_fsm_penalty_over(struct safelock_fsm *fsm, struct safelock_fsm_out *out);
void safelock_fsm_relock(struct safelock_fsm *fsm, struct safelock_fsm_out *out);
void safelock_fsm_door(struct safelock_fsm *fsm, bool open, struct safelock_fsm_out *out);
void safelock_fsm_door_held(struct safelock_fsm *fsm, struct safelock_fsm_out *out);
void safelock_fsm_delay_over(struct safelock_fsm *fsm, struct safelock_fsm_out *out);
void safelock_fsm_window_over(struct safelock_fsm *fsm, struct safelock_fsm_out *out);
void safelock_fsm_dual_over(struct safelock_fsm *fsm, struct safelock_fsm_out *out);
int safelock_fsm_lock_now(struct safelock_fsm *fsm, bool door_open,
			  struct safelock_fsm_out *out);
void safelock_fsm_bolt_sensed(struct safelock_fsm *fsm, bool open, struct safelock_fsm_out *out);
void safelock_fsm_bolt_done(struct safelock_fsm *fsm, bool open, struct safelock_fsm_out *out);
void safelock_fsm_bolt_timeout(struct safelock_fsm *fsm, struct safelock_fsm_out *out);
int safelock_fsm_fault_clear(struct safelock_fsm *fsm, bool door_open,
			     struct safelock_fsm_out *out);
const char *safelock_state_name(enum safelock_state state);
void safelock_fsm_verdict_override(struct safelock_fsm *fsm, enum safelock_result result,
				   u32 retry_after_ms, bool duress, u8 override,
				   struct safelock_fsm_out *out);
void safelock_fsm_clock(struct safelock_fsm *fsm, u64 real_ns, u64 boot_ns,
			struct safelock_fsm_out *out);
int safelock_fsm_policy(struct safelock_fsm *fsm, const struct safelock_policy *policy,
			u32 lock_for_s, u64 real_ns, u64 boot_ns, struct safelock_fsm_out *out);
void safelock_fsm_time_lock_settle(struct safelock_fsm *fsm, struct safelock_fsm_out *out);
void safelock_fsm_next_clock(const struct safelock_fsm *fsm, u64 real_ns, u64 boot_ns,
			     struct safelock_clock_next *next);

/**
 * struct safelock_verifier_id - one registration of a verifier
 * @portid: its socket's netlink port id
 * @gen: a number that changes at every registration and every release, so
 *	that a socket that binds the same port id later is another verifier
 */
struct safelock_verifier_id {
	u32 portid;
	u64 gen;
};

/**
 * struct safelock_request - the one verification request a lock may have
 * @id: request id, unique per boot; 0 when none is pending
 * @nonce: random bytes the verdict must echo
 * @deadline_ns: CLOCK_MONOTONIC time after which no verdict is accepted
 * @portid: netlink port of the verifier the request was sent to
 * @gen: generation of the verifier's registration it was sent to: a port
 *	id can be bound again by another socket, a generation never comes back
 * @user_id: user id typed with the entry, for the attempt's event
 * @expired_id: id of the last request that timed out, to explain a late verdict
 * @answered_id: id of the last request that got its verdict, to explain a replay
 */
struct safelock_request {
	u64 id;
	u8 nonce[SAFELOCK_NONCE_SIZE];
	u64 deadline_ns;
	u32 portid;
	u32 user_id;
	u64 gen;
	u64 expired_id;
	u64 answered_id;
};

struct safelock_signals;

/**
 * struct safelock - one lock controller
 * @dev: the platform device
 * @ref: keeps this alive while a file is open after unbind
 * @index: N of /dev/safelockN and the netlink device index
 * @lock: protects @fsm, @req, @gone, the timers' arming and the bolt line
 * @fsm: the state machine
 * @req: the pending verification request
 * @verifier_gen: the verifier registration this lock last took in
 * @gone: the device was unbound; nothing touches hardware any more
 * @bolt: solenoid output line, active = bolt retracted; NULL with a motor
 * @motor_open: motor output line, active = drive towards retracted
 * @motor_close: motor output line, active = drive towards thrown
 * @bolt_sensor: optional input line, active = bolt retracted
 * @bolt_drive_ms: how long the motor runs for one drive; without a sensor,
 *	how long a throw of the bolt takes
 * @bolt_confirm_ms: how long the sensor has to confirm a move
 * @bolt_cmd: where the bolt was last driven (&enum safelock_bolt_cmd)
 * @motor_running: a motor line is raised
 * @motor_work: stops the motor at the end of its drive time
 * @bolt_work: checks the watched move; fires at its deadline
 * @bolt_deadline_ns: CLOCK_MONOTONIC end of the watched move's time
 * @bolt_sensed: the bolt sensor's last reading (true: retracted)
 * @door: optional input line, active = door open
 * @tamper: optional input line, active = enclosure tampered with
 * @battery: optional input line, active = battery low
 * @feedback: optional output line (buzzer, LED), pulsed for each key
 * @feedback_work: ends a feedback pulse
 * @alarm: optional output line, active = silent alarm raised
 * @alarm_on: the alarm output is raised
 * @alarm_ms: how long the alarm stays raised
 * @alarm_work: drops the alarm after @alarm_ms
 * @signals: the LED triggers (signal.c); NULL without them
 * @verify_timeout_ms: how long the verifier has to answer
 * @entry_timeout_ms: longest pause between two keys
 * @keypad_name: name of the input device that is the keypad, or NULL
 * @keypad_fwnode: firmware node of the keypad device, or NULL
 * @entry_work: fires when an entry times out between keys
 * @verify_work: fires at the request's deadline
 * @relock_work: fires when the bolt must be thrown again
 * @entry_id: id of the entry being typed, the id of its request at ENTER
 * @penalty_work: fires when the verifier's retry-after has passed
 * @penalty_until_ns: CLOCK_MONOTONIC end of the penalty
 * @phase_work: fires when the time delay or the open window ends
 * @phase_until_ns: CLOCK_MONOTONIC end of the time delay or open window
 * @dual_work: fires when the second user of dual control is too late
 * @dual_until_ns: CLOCK_MONOTONIC end of the dual-control window
 * @door_work: fires when the door has stayed open past the limit
 * @clock_work: reads the clocks: time lock periods, clock jumps
 * @tl_real_timer: CLOCK_REALTIME, absolute: the next locked period begins
 *	(a set of the wall clock moves it with the clock)
 * @tl_boot_timer: CLOCK_BOOTTIME, absolute: the running period's end
 * @key_work: drains @keyq into the state machine
 * @key_lock: protects @keyq, @keyq_len, @keyq_lost (taken in atomic context)
 * @keyq: keys from the input handler, wiped as they are consumed
 * @keyq_len: number of keys in @keyq
 * @keyq_lost: a key was dropped because @keyq was full
 * @handler: input handler bound to the keypad
 * @keypad_present: a keypad is connected
 * @ev_lock: protects @readers and @seq (taken with @lock held or alone)
 * @readers: open files, each with its own event queue
 * @seq: sequence number of the last event
 * @cdev: the character device; has its own lifetime (cdev_alloc())
 * @chrdev: the class device of /dev/safelockN
 */
struct safelock {
	struct device *dev;
	struct kref ref;
	unsigned int index;

	/* protects fsm, req, gone, the timers' arming and the bolt line */
	struct mutex lock;
	struct safelock_fsm fsm;
	struct safelock_request req;
	u64 verifier_gen;
	u64 entry_id;
	bool gone;

	struct gpio_desc *bolt;
	struct gpio_desc *motor_open;
	struct gpio_desc *motor_close;
	struct gpio_desc *bolt_sensor;
	u32 bolt_drive_ms;
	u32 bolt_confirm_ms;
	enum safelock_bolt_cmd bolt_cmd;
	bool motor_running;
	struct delayed_work motor_work;
	struct delayed_work bolt_work;
	u64 bolt_deadline_ns;
	bool bolt_sensed;
	struct gpio_desc *door;
	struct gpio_desc *tamper;
	struct gpio_desc *battery;
	struct gpio_desc *feedback;
	struct delayed_work feedback_work;
	struct gpio_desc *alarm;
	bool alarm_on;
	u32 alarm_ms;
	struct delayed_work alarm_work;
	struct safelock_signals *signals;
	u32 verify_timeout_ms;
	u32 entry_timeout_ms;
	const char *keypad_name;
	struct fwnode_handle *keypad_fwnode;

	struct delayed_work entry_work;
	struct delayed_work verify_work;
	struct delayed_work relock_work;
	struct delayed_work penalty_work;
	u64 penalty_until_ns;
	struct delayed_work phase_work;
	u64 phase_until_ns;
	struct delayed_work dual_work;
	u64 dual_until_ns;
	struct delayed_work door_work;
	struct work_struct clock_work;
	struct hrtimer tl_real_timer;
	struct hrtimer tl_boot_timer;
	struct work_struct key_work;

	/* protects the key queue; taken in atomic context */
	spinlock_t key_lock;
	u8 keyq[SAFELOCK_KEYQ_SIZE];
	unsigned int keyq_len;
	bool keyq_lost;
	struct input_handler handler;
	bool keypad_present;

	/* protects readers, their queues, and seq */
	spinlock_t ev_lock;
	struct list_head readers;
	u64 seq;

	struct cdev *cdev;
	struct device *chrdev;
};

/* core.c */
void safelock_put(struct safelock *sl);
struct safelock *safelock_get_by_index(unsigned int index);
void safelock_fsm_apply(struct safelock *sl, const struct safelock_fsm_out *out,
			enum safelock_state before);
void safelock_verifier_changed(void);
u32 safelock_status_flags(struct safelock *sl);
int safelock_lock_now(struct safelock *sl);
int safelock_verdict(struct safelock *sl, const struct safelock_verifier_id *from, u64 id,
		     const u8 *nonce, enum safelock_result result, u32 retry_after_ms,
		     bool duress, u8 override, struct netlink_ext_ack *extack);
u32 safelock_penalty_left_ms(struct safelock *sl);
u32 safelock_timer_left_ms(struct safelock *sl);
void safelock_policy_get(struct safelock *sl, struct safelock_policy *policy);
int safelock_policy_set(struct safelock *sl, const struct safelock_verifier_id *from,
			const struct safelock_policy *policy, u32 lock_for_s,
			struct netlink_ext_ack *extack);
void safelock_duress_alarm(struct safelock *sl, u32 user_id);
bool safelock_may_unprovision(struct safelock *sl);
void safelock_bolt_event(struct safelock *sl, bool open);
void safelock_door_changed(struct safelock *sl, bool open);
void safelock_door_read(struct safelock *sl);
void safelock_tamper_changed(struct safelock *sl, bool active);
void safelock_battery_changed(struct safelock *sl, bool low);
void safelock_bolt_sensor_changed(struct safelock *sl);
int safelock_fault_clear(struct safelock *sl, struct netlink_ext_ack *extack);
void safelock_clock_tick(struct safelock *sl);
void safelock_clock_set(struct safelock *sl);

/* actuator.c */
int safelock_actuator_probe(struct safelock *sl);
void safelock_bolt_set(struct safelock *sl, bool open);
bool safelock_bolt_is_open(struct safelock *sl);
void safelock_bolt_secure(struct safelock *sl);
void safelock_bolt_stop(struct safelock *sl);
void safelock_bolt_settle(struct safelock *sl);
void safelock_bolt_init(struct safelock *sl);
bool safelock_bolt_sensor_open(struct safelock *sl);
bool safelock_door_is_open(struct safelock *sl);
bool safelock_tamper_is_active(struct safelock *sl);
bool safelock_battery_is_low(struct safelock *sl);
void safelock_feedback_pulse(struct safelock *sl);
void safelock_alarm_set(struct safelock *sl, bool on);

/* signal.c: the lock's signals as LED triggers, if the kernel has them */
#if IS_ENABLED(CONFIG_LEDS_TRIGGERS)
int safelock_signal_probe(struct safelock *sl);
void safelock_signal_verdict(struct safelock *sl, u32 result);
void safelock_signal_sync(struct safelock *sl);
void safelock_signal_battery(struct safelock *sl, bool low);
#else
static inline int safelock_signal_probe(struct safelock *sl) { return 0; }
static inline void safelock_signal_verdict(struct safelock *sl, u32 result) { }
static inline void safelock_signal_sync(struct safelock *sl) { }
static inline void safelock_signal_battery(struct safelock *sl, bool low) { }
#endif

/* keypad.c */
int safelock_keypad_probe(struct safelock *sl);
void safelock_key_work(struct work_struct *work);

/* cdev.c */
int safelock_cdev_init(void);
void safelock_cdev_exit(void);
int safelock_cdev_probe(struct safelock *sl);
void safelock_cdev_event(struct safelock *sl, const struct safelock_event *ev);

/* netlink.c */
int safelock_netlink_init(void);
void safelock_netlink_exit(void);
bool safelock_verifier_present(int *vault, struct safelock_verifier_id *id);
int safelock_netlink_verify(struct safelock *sl, const struct safelock_fsm_out *out);
int safelock_netlink_set_code_key(const u8 *key);
void safelock_netlink_entry_begin(struct safelock *sl, u64 entry_id);
void safelock_netlink_entry_user(struct safelock *sl, u64 entry_id, u32 user_id);
void safelock_netlink_event(struct safelock *sl, const struct safelock_event *ev);

#endif /* _SAFELOCK_H */
