/* Operations of the messages sent from BPF to user space. Every record starts with
 * struct msg_header; user space dispatches on `op`. Values are part of the contract
 * with src/decode/: add new operations, never renumber. */
#ifndef TG_MSG_TYPES_H
#define TG_MSG_TYPES_H

enum msg_op {
	MSG_OP_EXECVE = 5,
	MSG_OP_EXIT = 7,
	MSG_OP_GENERIC_KPROBE = 13,
	MSG_OP_GENERIC_TRACEPOINT = 14,
	MSG_OP_GENERIC_UPROBE = 15,
	MSG_OP_CLONE = 23,
	MSG_OP_GENERIC_DATA = 24,
};

struct msg_header {
	__u8 op;
	__u8 pad[3];
	__u32 size;   /* bytes of the whole record, header included */
	__u64 ktime;  /* CLOCK_BOOTTIME ns when the event happened */
};

#endif
