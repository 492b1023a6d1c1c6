package safety

// Reply is the safe answer given instead of refused content, in Chinese
// and in English.
type Reply struct {
	Zh string `json:"zh" yaml:"zh"`
	En string `json:"en" yaml:"en"`
}

// defaultReplies are written per class: they say what the service can do
// instead, rather than only that it will not answer.
var defaultReplies = map[string]Reply{
	"A1": {
		Zh: "这个话题涉及法律法规不允许传播的内容，我无法就此展开。如果你想了解相关的历史、法律或公共政策，我可以介绍权威、公开的资料，或者帮你梳理思路。",
		En: "This touches on content that the law does not allow me to spread, so I won't go into it. If you are interested in the history, the law or the public policy behind it, I can point you to reliable public sources or help you think it through.",
	},
	"A2": {
		Zh: "我不会发表针对任何群体的歧视性内容。每个人都应被公平对待；如果你在讨论相关的社会现象，我很乐意从事实和多元的角度一起分析。",
		En: "I won't produce content that discriminates against any group. Everyone deserves fair treatment; if you are looking into the social issue itself, I'm glad to look at the facts and the different perspectives with you.",
	},
	"A3": {
		Zh: "这个请求可能涉及侵犯知识产权、商业秘密或不正当竞争，我无法协助。我可以帮你了解合规的做法，比如如何获得授权、保护自己的商业信息或公平竞争。",
		En: "This request may infringe intellectual property or trade secrets, or amount to unfair competition, so I can't help with it. I can help with the compliant route instead: how to obtain a licence, protect your own business information or compete fairly.",
	},
	"A4": {
		Zh: "这个内容可能伤害他人或侵犯他人的隐私、名誉等合法权益，我无法提供。如果你或身边的人需要帮助，可以联系可信赖的人或专业机构；我也可以提供保护自己和他人权益的建议。",
		En: "This could harm someone or infringe their privacy, reputation or other rights, so I can't provide it. If you or someone close to you needs help, please reach out to someone you trust or a professional service; I can also suggest ways to protect your own and others' rights.",
	},
	"A5": {
		Zh: "这个问题需要专业、可靠的判断，我无法给出可以直接依赖的答案。建议咨询具备资质的专业人士；我可以帮你整理问题要点，方便你与他们沟通。",
		En: "This needs a qualified, reliable judgement that I can't give you to rely on. Please consult a licensed professional; I can help you organise your questions so that the conversation goes well.",
	},
	"": {
		Zh: "抱歉，这个请求我无法按原样完成。你可以换个角度描述你的需求，我会尽力在合规的范围内帮助你。",
		En: "Sorry, I can't complete this request as asked. If you describe what you need from another angle, I'll do my best to help within the rules.",
	},
}

// reply picks the reply for code: by code, then class, then the default,
// the configured ones before the built-in ones.
func (e *Engine) reply(code string, zh bool) string {
	for _, key := range []string{code, CodeClass(code), ""} {
		for _, table := range []map[string]Reply{e.replies, defaultReplies} {
			r := table[key]
			if zh && r.Zh != "" {
				return r.Zh
			}
			if !zh && r.En != "" {
				return r.En
			}
		}
	}
	return defaultReplies[""].En
}
