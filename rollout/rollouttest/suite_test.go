package rollouttest_test

import (
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/rollout"
	"github.com/rlpipe/rlpipe/rollout/rollouttest"
)

func TestInProcessConforms(t *testing.T) {
	for _, tmpl := range []string{data.TemplatePlain, data.TemplateChat} {
		t.Run(tmpl+" template", func(t *testing.T) {
			rollouttest.Run(t, func(t *testing.T) rollouttest.Generator {
				return &rollout.InProcess{
					Model: rollouttest.HashModel{}, Codec: rollouttest.ByteCodec{},
					Renderer: rollouttest.TemplateRenderer{Template: data.Template{Kind: tmpl}}, MaxBatch: 3,
				}
			})
		})
	}
}
