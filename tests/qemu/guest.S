/* SPDX-License-Identifier: MIT */
/*
 * The guest of the nested QEMU tests: a boot sector that sets VGA mode 13h
 * (320x200, 256 colours; QEMU shows it as 640x400) and paints a pattern
 * that depends on a counter: the colour of a pixel is
 *
 *	(x / 16 + y / 32 + counter) mod 256
 *
 * in the default palette, so every band and row of bands changes colour
 * when the counter does. Then it reads a key through the BIOS (int 16h),
 * increments the counter and paints again, forever.
 *
 * The image is the whole floppy (1474560 bytes): the sector, its boot
 * signature, then zeros.
 */
	.code16
	.text
	.globl _start
_start:
	cli
	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %ss
	movw $0x7c00, %sp
	sti
	cld
	movw $0x0013, %ax	/* set mode 13h */
	int $0x10
	movw $0xa000, %ax
	movw %ax, %es
	xorw %bp, %bp		/* the counter */
paint:
	xorw %di, %di
	xorw %dx, %dx		/* y */
row:
	xorw %cx, %cx		/* x */
column:
	movw %cx, %ax
	shrw $4, %ax
	movw %dx, %bx
	shrw $5, %bx
	addw %bx, %ax
	addw %bp, %ax
	stosb
	incw %cx
	cmpw $320, %cx
	jne column
	incw %dx
	cmpw $200, %dx
	jne row
	xorb %ah, %ah		/* wait for a key */
	int $0x16
	incw %bp
	jmp paint

	.org 510
	.word 0xaa55
	.skip 1474560 - 512
