/* Access units from OpenMAX IL output buffers (modules/omx/omx_au.c):
 * codec-config buffers kept and put in front of every IDR that lacks
 * them, pictures split over several buffers joined at ENDOFFRAME, an IDR
 * with its own SPS left alone, EOS ending a partial picture. */
#include <OMX_Core.h>

#include "tests/unit/check.h"

#include "modules/omx/omx_au.h"

static const uint8_t sps[] = {0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xda};
static const uint8_t pps[] = {0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80};
static const uint8_t idr[] = {0,    0,	  0,	1,    0x65, 0x88, 0x84,
			      0x00, 0x21, 0xff, 0xfe, 0x12, 0x34};
static const uint8_t p_slice[] = {0, 0, 0, 1, 0x41, 0x9a, 0x02, 0x03};

#define CFG  (OMX_BUFFERFLAG_CODECCONFIG | OMX_BUFFERFLAG_ENDOFFRAME)
#define EOF_ OMX_BUFFERFLAG_ENDOFFRAME

int main(void)
{
	struct omx_au a = {0};
	struct omx_au_frame f;

	CHECK_EQ_INT(omx_au_add(&a, sps, sizeof(sps), CFG, 0, &f), 0);
	CHECK_EQ_INT(omx_au_add(&a, pps, sizeof(pps), CFG, 0, &f), 0);
	/* An IDR in three pieces. */
	CHECK_EQ_INT(omx_au_add(&a, idr, 5, 0, 1000, &f), 0);
	CHECK_EQ_INT(omx_au_add(&a, idr + 5, 4, 0, 1000, &f), 0);
	CHECK_EQ_INT(omx_au_pending(&a), 9);
	CHECK_EQ_INT(omx_au_add(&a, idr + 9, sizeof(idr) - 9, EOF_, 1000, &f),
		     1);
	CHECK(f.key);
	CHECK(f.has_sps);
	CHECK_EQ_INT(f.ts_us, 1000);
	CHECK_EQ_INT(f.size, sizeof(sps) + sizeof(pps) + sizeof(idr));
	CHECK(memcmp(f.data, sps, sizeof(sps)) == 0);
	CHECK(memcmp(f.data + sizeof(sps), pps, sizeof(pps)) == 0);
	CHECK(memcmp(f.data + sizeof(sps) + sizeof(pps), idr, sizeof(idr)) ==
	      0);

	/* A P picture: as it came. */
	CHECK_EQ_INT(omx_au_add(&a, p_slice, sizeof(p_slice), EOF_, 2000, &f),
		     1);
	CHECK(!f.key);
	CHECK(!f.has_sps);
	CHECK_EQ_INT(f.size, sizeof(p_slice));

	/* The next IDR gets the same SPS/PPS again. */
	CHECK_EQ_INT(omx_au_add(&a, idr, sizeof(idr), EOF_, 3000, &f), 1);
	CHECK(f.key && f.has_sps);
	CHECK_EQ_INT(f.size, sizeof(sps) + sizeof(pps) + sizeof(idr));

	/* New configuration after pictures replaces the old one. */
	uint8_t sps2[sizeof(sps)];
	memcpy(sps2, sps, sizeof(sps));
	sps2[sizeof(sps) - 1] = 0x77;
	CHECK_EQ_INT(omx_au_add(&a, sps2, sizeof(sps2), CFG, 0, &f), 0);
	CHECK_EQ_INT(omx_au_add(&a, idr, sizeof(idr), EOF_, 4000, &f), 1);
	CHECK_EQ_INT(f.size, sizeof(sps2) + sizeof(idr));
	CHECK_EQ_INT(f.data[sizeof(sps) - 1], 0x77);

	/* An IDR carrying its own SPS/PPS (inline headers): nothing added. */
	uint8_t inl[sizeof(sps) + sizeof(pps) + sizeof(idr)];
	memcpy(inl, sps, sizeof(sps));
	memcpy(inl + sizeof(sps), pps, sizeof(pps));
	memcpy(inl + sizeof(sps) + sizeof(pps), idr, sizeof(idr));
	CHECK_EQ_INT(omx_au_add(&a, inl, sizeof(inl), EOF_, 5000, &f), 1);
	CHECK_EQ_INT(f.size, sizeof(inl));
	CHECK(f.key && f.has_sps);

	/* EOS ends a picture whose ENDOFFRAME never came; an empty EOS
	 * buffer alone makes nothing. */
	CHECK_EQ_INT(omx_au_add(&a, p_slice, sizeof(p_slice), 0, 6000, &f), 0);
	CHECK_EQ_INT(omx_au_add(&a, NULL, 0, OMX_BUFFERFLAG_EOS, 0, &f), 1);
	CHECK_EQ_INT(f.size, sizeof(p_slice));
	CHECK_EQ_INT(omx_au_add(&a, NULL, 0, OMX_BUFFERFLAG_EOS, 0, &f), 0);

	/* Garbage is passed on, not trusted: no key flag. */
	const uint8_t junk[] = {1, 2, 3, 4, 5};
	CHECK_EQ_INT(omx_au_add(&a, junk, sizeof(junk), EOF_, 7000, &f), 1);
	CHECK(!f.key);
	omx_au_drop(&a);
	omx_au_free(&a);
	return check_done();
}
